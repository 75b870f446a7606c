"""Live figures (book/_ext/livefig.py): in chromium, each of the four lessons' figures, its controls set as a reader
sets them, shows what the program computes in CPython for the same input (tangle.load here); nothing of them in
the PDF, the EPUB or a site without the in-page Python. tests/inpage/livefig.js drives chromium over the session's
HTML build (the `site` fixture of test_inpage.py), so run this file under the build lock, as test_inpage.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tangle
from test_inpage import site  # noqa: F401  (the fixture: the session's HTML build with the in-page runtime)

REPO = Path(__file__).resolve().parent.parent
DRIVER = REPO / 'tests' / 'inpage' / 'livefig.js'
PAGES = {'tokens': 'book/01-data/03-start-and-end.html', 'softmax': 'book/03-architecture/03-softmax.html',
         'attention': 'book/03-architecture/06-attention.html', 'temperature': 'book/05-inference/02-temperature.html'}


def close(floats):
    """The floats, up to their last bits: the page's math library is not glibc's, so an exponential in the page's
    Python may differ in its last bit from CPython's here. What the figures print (2 to 4 decimals) is compared
    exactly."""
    return pytest.approx(floats, rel=1e-12, abs=1e-15)


def play(site, kind, actions, width=None, mode=None):
    """What livefig.js saw, doing the actions on the live figure of the lesson of `kind`."""
    env = {**os.environ, 'DRIVE_MODE': mode or ''}
    done = subprocess.run(['node', str(DRIVER), str(site), PAGES[kind], json.dumps(actions), *([str(width)] if width else [])],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert not answer['external'], answer['external'][:5]
    result = answer['result']
    assert result['log'] == [], result['log']  # no console error or warning, no failed request
    assert result['before']['static']  # the lesson's static figure stands before the live one
    return result['results']


def test_lesson_6_shows_the_ids_encode_returns_and_what_it_refuses(site):
    m = tangle.load('encode-decode')
    name = m.docs[0]
    start, capital, typed = play(site, 'tokens', [{'start': True}, {'type': ['Name', 'Zoe']}, {'type': ['Name', name]}])
    for shown, text in ((start, 'emma'), (typed, name)):
        ids = m.encode(text)
        assert shown['state'] == 'done' and shown['last']['ids'] == ids
        assert f'encode("{text}") returns {ids!r}: {len(ids)} tokens.' in shown['text']
        assert shown['text'].split('\n')[:2 * len(ids):2] == ['BOS' if i == m.BOS else m.chars[i] for i in ids]
    with pytest.raises(ValueError) as refused:
        m.encode('Zoe')
    assert f'raises ValueError: {refused.value}' in capital['text']  # the lesson's exercise glues the same words
    assert '"Z" is not in chars; "z" is' in capital['text']


def test_lesson_16_moves_the_scores_and_shows_the_programs_softmax(site):
    m = tangle.load('softmax')
    shown = play(site, 'softmax', [{'start': True}, {'slider': ['score of token 0', 4.5]},
                                   {'key': ['score of token 2', 'ArrowRight', 3]}, {'slider': ['score of token 3', 2]}])
    for result, scores in zip(shown, ([2.0, 1.0, -0.5, -2.0], [4.5, 1.0, -0.5, -2.0], [4.5, 1.0, -0.2, -2.0],
                                      [4.5, 1.0, -0.2, 2.0])):
        probs = [p.data for p in m.softmax([m.Value(s) for s in scores])]
        assert result['state'] == 'done' and result['last']['scores'] == scores
        assert result['last']['probs'] == close(probs)
        for i, p in enumerate(probs):
            assert f'p = {p:.3f}' in result['text'].split('\n')[3 * i + 2]
    assert shown[2]['value'] == '-0.2'  # three presses of the right arrow key: three steps of 0.1
    first = shown[0]['last']['shown'][0]  # the lesson's "the largest of the four scores above got probability ..."
    assert first == f"{m.softmax([m.Value(s) for s in [2.0, 1.0, -0.5, -2.0]])[0].data:.3f}"


def head_weights(m, name, pos):
    """Each head's attention weights at position pos of the name: what the program's softmax returns inside gpt."""
    inputs = m.encode(name)[:-1]
    keys, values = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]
    softmax, seen = m.softmax, []
    try:
        for p in range(pos + 1):
            seen.clear()
            m.softmax = lambda logits: seen.append(softmax(logits)) or seen[-1]
            m.gpt(inputs[p], p, keys, values)
    finally:
        m.softmax = softmax
    return [[w.data for w in head] for head in seen]


def test_lesson_19_shows_each_trained_heads_weights_at_the_position_picked(site):
    trained, initial = tangle.load('logits', trained=True), tangle.load('logits')
    name = trained.docs[0]
    last = len(name)  # the name's tokens but the final BOS: positions 0 to len(name)
    shown = play(site, 'attention', [{'start': True}, {'key': ['Position', 'ArrowLeft', 2]},
                                     {'radio': 'initial (before training)'}, {'radio': 'trained'},
                                     {'type': ['Name', 'emma']}, {'key': ['Position', 'Home', 1]}])
    expected = [(trained, name, last), (trained, name, last - 2), (initial, name, last - 2), (trained, name, last - 2),
                (trained, 'emma', 4), (trained, 'emma', 0)]
    for result, (m, text, pos) in zip(shown, expected):
        weights = head_weights(m, text, pos)
        assert result['state'] == 'done' and (result['last']['name'], result['last']['pos']) == (text, pos)
        assert result['last']['heads'] == [close(head) for head in weights] and len(weights) == m.n_head
        for h, head in enumerate(weights):
            row = result['text'].split('head %d\n' % h)[1].split('\n')
            assert row[1:2 * len(head):2] == [f'{w:.2f}' for w in head]
    # the lesson's trace (lesson 19, "After training"): the sharpest head's largest weight, as the prose quotes it
    inputs = trained.encode(name)[:-1]
    patterns = [head_weights(trained, name, t) for t in range(len(inputs))]
    sharpest = max(range(trained.n_head), key=lambda h: max(max(r[h]) for r in patterns[2:]))
    t_best = max(range(2, len(inputs)), key=lambda t: max(patterns[t][sharpest]))
    one = play(site, 'attention', [{'start': True}, {'slider': ['Position', t_best]}])[1]
    assert f'{max(patterns[t_best][sharpest]):.2f}' in one['last']['shown'][sharpest]


def test_lesson_31_drags_the_temperature_and_shows_the_distribution_and_the_names(site):
    m = tangle.load('generate', trained=True)
    after_training = m.random.getstate()
    program_t = tangle.load('sample-names', trained=True).temperature
    shown = play(site, 'temperature', [{'start': True}, {'slider': ['Temperature', 2]},
                                       {'key': ['Temperature', 'ArrowLeft', 2]}, {'slider': ['Temperature', 0.1]}])
    keys, values = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]
    logits = m.gpt(m.BOS, 0, keys, values)
    for result, t in zip(shown, (program_t, 2.0, 1.9, 0.1)):
        probs = [p.data for p in m.softmax([l / t for l in logits])]
        m.random.setstate(after_training)
        names = [m.generate(t) for _ in range(10)]
        assert result['state'] == 'done' and result['last']['t'] == t
        assert result['last']['probs'] == close(probs) and result['last']['names'] == names
        order = sorted(range(m.vocab_size), key=lambda i: -probs[i])[:5]
        five = ', '.join(f"{'BOS' if i == m.BOS else m.chars[i]} {probs[i]:.4f}" for i in order)
        assert f'the five likeliest: {five}.' in result['text']
        assert f'The even share is 1/{m.vocab_size} = {1 / m.vocab_size:.3f}.' in result['text']
        assert result['text'].rstrip().split('\n')[-10:] == [n or '(empty)' for n in names]
    assert shown[0]['last']['names'] == tangle.trained_run()['samples'][:10]  # the names the program printed
    assert shown[2]['value'] == '1.9'


@pytest.mark.parametrize('kind', list(PAGES))
def test_each_live_figure_fits_400_px_and_leaves_axe_nothing_to_report(site, kind):
    """At 400 px wide: axe-core finds nothing before the figure is started and after, in light and dark mode; started,
    the page does not overflow sideways."""
    subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=REPO / 'tests' / 'a11y', check=True,
                   env={**os.environ, 'PUPPETEER_SKIP_DOWNLOAD': '1'})
    for mode in ('light', 'dark'):
        actions = [{'axe': True}, {'start': True}, {'axe': True}]  # before and after it is started
        done = subprocess.run(['node', str(DRIVER), str(site), PAGES[kind], json.dumps(actions), '400'],
                              capture_output=True, text=True, timeout=900, env={**os.environ, 'DRIVE_MODE': mode})
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])['result']
        assert result['log'] == [] and result['results'][1]['state'] == 'done', result
        assert result['results'][0] == result['results'][2] == [], (mode, result['results'])
        assert result['overflow']['scrollWidth'] <= result['overflow']['width'], result['overflow']


# ---------------------------------------------------------------- without a browser

@pytest.mark.parametrize('builder, on', [('html', True), ('html', False), ('latex', True), ('text', True)])
def test_a_live_figure_is_on_the_html_site_with_the_page_python_only(make_app, rootdir, monkeypatch, builder, on, tmp_path):
    """With the in-page Python (inpage.enabled) the HTML page holds the figure's box, its options and its words; a
    site without it, the LaTeX (the PDF and the handouts) and the text builder hold nothing of it."""
    import shutil
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    import livefig
    src = tmp_path / 'src'
    shutil.copytree(rootdir / 'test-livefig', src)
    monkeypatch.setattr(inpage, 'enabled', lambda app: on)
    app = make_app(builder, srcdir=src, freshenv=True)
    app.build()
    assert not app._warning.getvalue(), app._warning.getvalue()
    text = ''.join(p.read_text(encoding='utf-8') for p in Path(app.outdir).rglob('*')
                   if p.suffix in ('.html', '.tex', '.txt') and '_sources' not in p.parts)
    assert 'After the figure' in text and 'static figure' in text
    there = builder == 'html' and on
    assert ('Words that only the live figure shows' in text) == there
    assert ('data-livefig="softmax"' in text and '&quot;scores&quot;: [1.0, 0.5, -1.0]' in text) == there
    assert livefig.KINDS == tuple(PAGES)
