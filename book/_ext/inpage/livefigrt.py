"""The live figures' side in the page's Python (book/_ext/livefig.py writes the figures, static/livefig.js draws them).

figure(kind, values) takes what the reader set on a figure's controls (JSON) and returns JSON of what the figure
shows, computed by the program itself: tangle.load runs the tangled program as the build does, with the build's
trained weights where the figure needs them. The page's JavaScript only draws these values; every number the
figure prints is formatted here, as the lessons' cells format it. A figure leaves the page's random state as it
found it (loading a program seeds it), and it does not touch the namespace of the page's cells.

A value the figure cannot take comes back as {'refused': words for the reader} (never an exception).
"""

import json
import math
import random
import re

_programs = {}


def _load(through, trained=False):
    """(the program through chunk `through`, the random state right after it ran), loaded once per page."""
    if (through, trained) not in _programs:
        import tangle
        saved = random.getstate()
        try:
            m = tangle.load(through, trained=trained)
            _programs[through, trained] = (m, random.getstate())
        finally:
            random.setstate(saved)
    return _programs[through, trained]


def _token(m, tid):
    return 'BOS' if tid == m.BOS else m.chars[tid]


class Refused(ValueError):
    """A value the figure does not take, in words for the reader."""


# ---------------------------------------------------------------- lesson 6: a name and its token ids
MAX_NAME = 30  # characters the tokens figure takes (the field's maxlength too)


def tokens(values):
    """encode(name) as the program computes it, or the ValueError it raises and which characters are not in chars."""
    m, _ = _load('encode-decode')
    name = str(values.get('name', ''))
    if len(name) > MAX_NAME:
        raise Refused(f'Type at most {MAX_NAME} characters.')
    try:
        ids = m.encode(name)
    except ValueError as err:
        unknown = []
        for ch in dict.fromkeys(name):
            if ch not in m.chars:
                shown = 'a space' if ch == ' ' else f'"{ch}"'
                lower = ch.lower()
                why = (f'{shown} is not in chars; "{lower}" is' if lower != ch and lower in m.chars
                       else f'{shown} is not in chars')
                unknown.append(why)
        return {'name': name, 'error': f'ValueError: {err}', 'unknown': unknown,
                'first': next(ch for ch in name if ch not in m.chars)}
    return {'name': name, 'ids': ids, 'tokens': [_token(m, i) for i in ids], 'bos': m.BOS,
            'printed': repr(ids), 'decoded': repr(m.decode(ids)), 'count': len(ids)}


# ---------------------------------------------------------------- lesson 16: scores and their softmax
SCORE_RANGE = (-10, 10)


def softmax(values):
    """The program's softmax of the scores: each probability, and each as the lesson prints it (3 decimals)."""
    m, _ = _load('softmax')
    try:
        scores = [float(s) for s in values['scores']]
    except (KeyError, TypeError, ValueError):
        raise Refused('The scores must be numbers.') from None
    low, high = SCORE_RANGE
    if not 2 <= len(scores) <= 8 or not all(low <= s <= high for s in scores):
        raise Refused(f'Give 2 to 8 scores, each from {low} to {high}.')
    probs = [p.data for p in m.softmax([m.Value(s) for s in scores])]
    top = max(range(len(scores)), key=lambda i: probs[i])
    return {'scores': scores, 'probs': probs, 'shown': [f'{p:.3f}' for p in probs],
            'scores_shown': [f'{s:g}' for s in scores], 'sum': repr(sum(probs)), 'top': top}


# ---------------------------------------------------------------- lesson 19: each head's attention at one position
def attention(values):
    """Each head's attention weights at one position of a name, from the program's gpt() with the trained (or the
    initial) weights: the weights the program's softmax returns inside attention, recorded as gpt() runs."""
    trained = values.get('weights', 'trained') != 'initial'
    m, _ = _load('logits', trained)
    name = str(values.get('name') or m.docs[0])
    bad = sorted(set(name) - set(m.chars))
    if bad:
        raise Refused('The model knows only the letters a to z (lowercase); not ' + ' '.join(f'"{c}"' for c in bad) + '.')
    if not 1 <= len(name) < m.block_size:
        raise Refused(f'Type a name of 1 to {m.block_size - 1} letters: the model reads at most {m.block_size} tokens.')
    inputs = m.encode(name)[:-1]  # every token but the final BOS, which is only ever a target
    pos = values.get('pos')
    pos = len(inputs) - 1 if pos in (None, '') else int(pos)
    pos = max(0, min(pos, len(inputs) - 1))
    keys, vals = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]
    softmax_, seen = m.softmax, []
    for p in range(pos + 1):
        seen.clear()
        m.softmax = lambda logits: seen.append(softmax_(logits)) or seen[-1]
        try:
            m.gpt(inputs[p], p, keys, vals)
        finally:
            m.softmax = softmax_
    heads = [[w.data for w in head] for head in seen]  # layer by layer, head by head
    return {'name': name, 'tokens': [_token(m, t) for t in inputs], 'pos': pos, 'n_head': m.n_head,
            'n_layer': m.n_layer, 'weights': 'trained' if trained else 'initial', 'heads': heads,
            'shown': [[f'{w:.2f}' for w in head] for head in heads]}


# ---------------------------------------------------------------- lesson 31: the temperature
TEMPERATURE = (0.05, 3)  # the slider's range (the playground's too)
SAMPLES = 10             # names drawn at each temperature


def program_temperature():
    """The temperature of the program's chunk sample-names."""
    import tangle
    chunk = '\n'.join(tangle.read_book().chunk('sample-names').lines)
    return float(re.search(r'temperature = ([0-9.]+)', chunk).group(1))


def temperature(values):
    """At temperature t: the probability of each first letter (the logits after BOS divided by t, then the program's
    softmax), and the first SAMPLES names generate(t) writes from the random state right after training."""
    m, after_training = _load('generate', True)
    try:
        t = float(values.get('t', program_temperature()))
    except (TypeError, ValueError):
        t = math.nan
    low, high = TEMPERATURE
    if not low <= t <= high:
        raise Refused(f'The temperature must be a number from {low} to {high}.')
    keys, vals = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]
    logits = m.gpt(m.BOS, 0, keys, vals)
    probs = [p.data for p in m.softmax([l / t for l in logits])]
    saved = random.getstate()
    random.setstate(after_training)
    try:
        names = [m.generate(t) for _ in range(SAMPLES)]
    finally:
        random.setstate(saved)
    order = sorted(range(m.vocab_size), key=lambda i: -probs[i])
    return {'t': t, 't_shown': f'{t:g}', 'tokens': [_token(m, i) for i in range(m.vocab_size)], 'probs': probs,
            'shown': [f'{p:.4f}' for p in probs], 'top': order[:5], 'even': 1 / m.vocab_size,
            'even_shown': f'{1 / m.vocab_size:.3f}', 'names': names, 'program_t': program_temperature()}


FIGURES = {'tokens': tokens, 'softmax': softmax, 'attention': attention, 'temperature': temperature}


def figure(kind, values='{}'):
    """JSON of what the figure `kind` shows for the controls' values (JSON), or of {'refused': why}."""
    try:
        return json.dumps(FIGURES[kind](json.loads(values)))
    except Refused as why:
        return json.dumps({'refused': str(why)})
