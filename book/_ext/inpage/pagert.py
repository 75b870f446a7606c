"""The page's side of the cells, in the browser's Python (Pyodide, in a Web Worker; see inpage-worker.js).

run_cell(code, label) runs one cell in the page's one namespace as Jupyter would: what it prints, the
value of its last expression (unless it ends with `;`), what it displays, or its traceback, returned as
JSON [[kind, text], ...] with kind stdout, stderr, result, markdown or error. Stand-ins for what the cells
import besides the standard library and tangle: myst_nb.glue (shows the value when display=True) and
IPython.display (display, Markdown, HTML: shown as text). The playground's functions (sample, explain,
train_*) use the program itself, through the page's tangle.load.
"""

import ast
import io
import json
import linecache
import random
import re
import sys
import traceback
import types

NAMESPACE = {'__name__': '__main__', '__builtins__': __builtins__}
_outputs = None
# What a cell prints is kept up to this many lines (the page shows the first SHOWN_LINES of them, inpage.js, and the
# rest on "show all"); beyond, the lines are only counted, so a runaway print loop cannot fill the browser's memory.
KEPT_LINES = 100_000
KEPT_CHARS = 10_000_000


class _Outputs:
    def __init__(self):
        self.items = []
        self.lines = self.chars = self.dropped = 0

    def add(self, kind, text):
        if not text:
            return
        if kind in ('stdout', 'stderr'):
            if self.lines >= KEPT_LINES or self.chars >= KEPT_CHARS:
                self.dropped += text.count('\n')
                return
            self.lines += text.count('\n')
            self.chars += len(text)
        if self.items and self.items[-1][0] == kind and kind in ('stdout', 'stderr'):
            self.items[-1][1] += text
        else:
            self.items.append([kind, text])

    def result(self):
        if self.dropped:
            self.items.append(['stderr', f'\n[{self.dropped:,} more lines were printed: the page keeps the first '
                                         f'{KEPT_LINES:,} lines of a cell]\n'])
        return self.items


# What the page's Python cannot do, in a plain sentence instead of the error or advice it would give.
NO_KEYBOARD = ('input() cannot ask you for anything here: the Python in this page has no keyboard to read from. '
               'Put the value in the code instead, for example name = "emma".')
NO_MODULE = ('No module named {name!r}. The Python in this page has only Python\'s standard library and the book\'s '
             'program, and cannot install more; to use {name}, run this lesson\'s notebook in Jupyter on your own computer '
             '(download it from the menu at the top of the page).')


class _NoKeyboard(io.TextIOBase):
    def readable(self):
        return True

    def read(self, *_):
        raise OSError(NO_KEYBOARD)

    readline = read


def _input(prompt=''):
    raise OSError(NO_KEYBOARD)


NAMESPACE['input'] = _input  # the cells' input() (the builtin itself stays as it is)


def _error_text(err):
    """A cell's traceback as plain Python prints it, without this module's frames (the stand-in input()); a missing
    module and input() end in the sentences above."""
    if isinstance(err, ModuleNotFoundError):  # Pyodide's own message names it without setting err.name
        named = err.name or next(iter(re.findall(r"module (?:named )?'([\w.]+)'", str(err))), None)
        if named:
            err = ModuleNotFoundError(NO_MODULE.format(name=named.split('.')[0]), name=named).with_traceback(err.__traceback__)
    shown = traceback.TracebackException(type(err), err, err.__traceback__.tb_next if err.__traceback__ else None)
    shown.stack = traceback.StackSummary.from_list(
        [frame for frame in shown.stack if frame.filename != __file__ and '/_pyodide/' not in frame.filename
         and not frame.filename.startswith('<frozen importlib')])
    return ''.join(shown.format())


class _Stream(io.TextIOBase):
    def __init__(self, kind):
        self.kind = kind

    def writable(self):
        return True

    def write(self, text):
        if _outputs is not None:
            _outputs.add(self.kind, text)
        return len(text)


def _text_plain(value):
    """The text/plain form Jupyter shows: IPython's pretty printer when it is here, else repr."""
    try:
        from IPython.lib.pretty import pretty
        return pretty(value)
    except ImportError:
        return repr(value)


def show(value):
    """Display a value under the cell, as Jupyter's display() does."""
    if value is None:
        return
    markdown = getattr(value, '_repr_markdown_', None)
    if markdown is not None:
        _outputs.add('markdown', _roles(markdown()))
    else:
        _outputs.add('result', _text_plain(value))


_ROLE = re.compile(r'\{([a-z:-]+)\}`([^`]*)`')


def _roles(text):
    """MyST roles in displayed Markdown as the book shows them: {lines} as "lines 30–57", {ref} as the
    section's title (or the explicit text), any other role as its text."""
    import tangle

    def one(match):
        role, content = match.groups()
        explicit = re.match(r'^(.*?)\s*<([^<>]+)>$', content, re.S)
        if explicit:
            return explicit.group(1)
        try:
            if role == 'lines':
                _, first, last = tangle.resolve_lines(tangle.read_book(), content)
                return tangle.line_span(first, last)
            if role == 'ref':
                return tangle._json('labels.json').get(content, content)
        except (KeyError, OSError):
            pass
        return content
    return _ROLE.sub(one, text)


def _install_stand_ins():
    """myst_nb.glue and IPython.display, as modules the cells can import."""
    myst_nb = types.ModuleType('myst_nb')

    def glue(name, variable=None, display=True):
        if display:
            show(variable)
    myst_nb.glue = glue
    sys.modules['myst_nb'] = myst_nb

    ipython = sys.modules.get('IPython') or types.ModuleType('IPython')
    ipython.__path__ = getattr(ipython, '__path__', [])
    display = types.ModuleType('IPython.display')

    class Markdown:
        def __init__(self, data=''):
            self.data = data

        def _repr_markdown_(self):
            return self.data

    class HTML(Markdown):
        pass

    def display_(*values, **_):
        for value in values:
            show(value)
    display.display, display.Markdown, display.HTML = display_, Markdown, HTML
    ipython.display = display
    sys.modules.setdefault('IPython', ipython)
    sys.modules['IPython.display'] = display


def run_cell(code, label):
    """Run one cell; JSON of its outputs."""
    global _outputs
    _outputs = outputs = _Outputs()
    filename = f'<{label}>'
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = _Stream('stdout'), _Stream('stderr'), _NoKeyboard()
    try:
        tree = ast.parse(code, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(';'):
            last = tree.body.pop()
        exec(compile(tree, filename, 'exec'), NAMESPACE)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, 'eval'), NAMESPACE)
            if value is not None:
                NAMESPACE['_'] = value
                show(value)
    except BaseException as err:  # SystemExit and KeyboardInterrupt too: the cell stops, the page does not
        outputs.add('error', _error_text(err))
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr, sys.stdin = saved
        _outputs = None
    return json.dumps(outputs.result())


# ---------------------------------------------------------------- the playground

_trained = {}


def _model():
    """The program through generate() with the build's trained weights, and the random state the full
    run had when it began to sample (training draws no random numbers)."""
    if not _trained:
        import tangle
        m = tangle.load('generate', trained=True)
        _trained['m'], _trained['state'] = m, random.getstate()
    return _trained['m'], _trained['state']


def _generate(m, temperature, prefix, record=None):
    """One name, as the program's generate() makes it, but starting with the letters of prefix; with
    record, each step's top candidates and each head's attention weights are appended to it."""
    keys, values = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]
    token_id, ids = m.BOS, []
    softmax = m.softmax
    for pos in range(m.block_size):
        given, seen = token_id, []
        if record is not None:
            m.softmax = lambda logits: seen.append(softmax(logits)) or seen[-1]
        try:
            logits = m.gpt(token_id, pos, keys, values)
        finally:
            m.softmax = softmax
        probs = softmax([l / temperature for l in logits])
        if pos < len(prefix):
            token_id = m.chars.index(prefix[pos])
        else:
            token_id = random.choices(range(m.vocab_size), weights=[p.data for p in probs])[0]
        if record is not None:
            ranked = sorted(range(m.vocab_size), key=lambda i: -probs[i].data)[:5]
            record.append({'pos': pos, 'input': '.' if given == m.BOS else m.chars[given],
                           'top': [['.' if i == m.BOS else m.chars[i], probs[i].data] for i in ranked],
                           'chosen': '.' if token_id == m.BOS else m.chars[token_id],
                           'attention': [[w.data for w in head] for head in seen]})
        if token_id == m.BOS:
            break
        ids.append(token_id)
    return m.decode(ids)


def _clean_prefix(m, prefix):
    prefix = (prefix or '').strip().lower()
    unknown = sorted(set(prefix) - set(m.chars))
    if unknown:
        raise ValueError(f'the model knows only the letters a-z; not {" ".join(unknown)}')
    if len(prefix) >= m.block_size:
        raise ValueError(f'the first letters can be at most {m.block_size - 1}: a name has at most {m.block_size} characters')
    return prefix


# The playground's limits (inpage.js checks them too, and says so beside each field).
TEMPERATURE = (0.05, 3)  # the temperature: from, to
MAX_NAMES = 100          # names at a time
MAX_STEPS = 1000         # training steps of a run
NO_OWN_MODEL = 'You have no model of your own yet: train one under "Train it yourself" first.'


def _settings(temperature, prefix, own, count=1):
    """The model, its random state, the temperature and the prefix, or ValueError in words for the page."""
    temperature, low, high = float(temperature), *TEMPERATURE
    if not low <= temperature <= high:
        raise ValueError(f'the temperature must be a number from {low} to {high}')
    if count != int(count) or not 1 <= count <= MAX_NAMES:
        raise ValueError(f'the number of names must be a whole number from 1 to {MAX_NAMES}')
    if own and 'm' not in _training:
        raise ValueError(NO_OWN_MODEL)
    m, state = (_training['m'], _training['state']) if own else _model()
    return m, state, temperature, _clean_prefix(m, prefix)


def sample(temperature=0.5, count=20, prefix='', own=False):
    """JSON list of names, from the build's weights (or, own=True, the reader's trained model), with the
    random state the program's own sampling starts from."""
    m, state, temperature, prefix = _settings(temperature, prefix, own, count)
    random.setstate(state)
    return json.dumps([_generate(m, temperature, prefix) for _ in range(int(count))])


def explain(temperature=0.5, prefix='', own=False):
    """JSON of one name and, for each step, the top candidates and the attention weights of each head."""
    m, state, temperature, prefix = _settings(temperature, prefix, own)
    random.setstate(state)
    record = []
    name = _generate(m, temperature, prefix, record)
    return json.dumps({'name': name, 'steps': record, 'heads': m.n_head})


_training = {}

# The playground's switches: each part of the program the reader can turn off, the book's variant that does it,
# and how a run's label names it. Two pairs cannot both be off (CLASHES): their variants edit the same lines, so
# runtime.program refuses them, and without its residual addition a part's output is all that passes on, so
# taking that output out as well would leave nothing.
PARTS = (('residual', 'no-residual', 'no residual'), ('norm', 'no-rmsnorm', 'no rmsnorm'),
         ('attention', 'no-attention', 'no attention'), ('mlp', 'no-mlp', 'no MLP'))
CLASHES = (('residual', 'attention'), ('residual', 'mlp'))
MAX_LEARNING_RATE = 10  # plain descent's learning rate: greater than 0, at most this


def run_variant(switches):
    """(the variant list for tangle.load, the run's label) for the playground's switches: a dict with False for
    each part of PARTS that is off, 'optimizer' ('adam' or 'plain'), 'lr' (plain descent's learning rate) and
    'seed' (an integer). ValueError, in words for the page, for what the page cannot run."""
    import runtime
    off = [name for name, _, _ in PARTS if switches.get(name, True) is False]
    for a, b in CLASHES:
        if a in off and b in off:
            raise ValueError(f'{a} and {b} cannot both be off: without its residual addition a part\'s output '
                             'is all that passes on, so removing it as well would leave nothing')
    variant = [name for part, name, _ in PARTS if part in off]
    label = [short for part, _, short in PARTS if part in off]
    if switches.get('optimizer', 'adam') == 'plain':
        lr = float(switches.get('lr', 'nan'))
        if not 0 < lr <= MAX_LEARNING_RATE:
            raise ValueError(f'the learning rate must be a number greater than 0 and at most {MAX_LEARNING_RATE}')
        variant.append(runtime.plain_descent(lr))
        label.append(f'plain descent, lr {lr}')
    seed = int(switches['seed'])
    variant.append(runtime.seed(seed))  # the program's own seed changes nothing
    return variant, ', '.join(label or ['the program']) + f', seed {seed}'


def train_start(steps, switches='{}'):
    """A fresh model with the program's initial weights (with the changes the switches, JSON, ask for), its learning
    rate falling to 0 over `steps`; JSON of the steps, the program's own num_steps and the run's label."""
    import tangle
    if steps != int(steps) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f'the number of steps must be a whole number from 1 to {MAX_STEPS}')
    variant, label = run_variant(json.loads(switches))
    m = tangle.load('adam', variant=variant or None)
    program_steps, m.num_steps = m.num_steps, int(steps)
    _training.clear()
    _training.update(m=m, step=0, state=random.getstate())
    return json.dumps({'steps': m.num_steps, 'program_steps': program_steps, 'label': label})


HELDOUT_SHOWN = 50  # the playground's held-out loss: on the first this many of the book's held-out names
_heldout = []       # the book's held-out names (the build's run), read once


def heldout_names(trained_on):
    """The names the playground's held-out loss is measured on: the first HELDOUT_SHOWN of the book's held-out names
    (tangle.trained_run()['heldout_names'], the 300 of lesson 1) that are not among trained_on, the names the run
    trained on. With the program's seed, none of them is, so the list is the same for every run: another seed's
    training may take a few, and those are left out as the book's seed runs leave theirs out."""
    if not _heldout:
        import tangle
        _heldout.extend(tangle.trained_run()['heldout_names'])
    trained_on = set(trained_on)
    return [n for n in _heldout if n not in trained_on][:HELDOUT_SHOWN]


def train_heldout():
    """JSON {'loss': the mean loss of the reader's model, with its weights as trained so far, on heldout_names (as
    the program prints a loss, to four decimals; None if the weights have blown up), 'count': how many names,
    'skipped': how many of the first HELDOUT_SHOWN the run trained on and so left out}."""
    m, steps = _training['m'], _training['step']
    trained_on = {m.docs[step % len(m.docs)] for step in range(steps)}
    names = heldout_names(trained_on)
    try:
        losses = [m.name_loss(n).data for n in names]
        loss = f'{sum(losses) / len(losses):.4f}'
    except (ArithmeticError, ValueError):
        loss = None
    return json.dumps({'loss': loss, 'count': len(names), 'skipped': len(set(_heldout[:HELDOUT_SHOWN]) & trained_on)})


def train_steps(count):
    """Run up to `count` more steps of the program's training loop; JSON of their losses."""
    m, losses = _training['m'], []
    while count > 0 and _training['step'] < m.num_steps:
        step = _training['step']
        try:
            loss = m.name_loss(m.docs[step % len(m.docs)])
            loss.backward()
            m.adam_step(step)
        except (ArithmeticError, ValueError) as err:  # math.log(0), an overflow: the weights have blown up
            raise ValueError(f'Training stopped at step {step + 1}: Python says "{err}". The weights grew too large to '
                             'compute the loss, most likely because the learning rate is too large.') from None
        losses.append(f'{loss.data:.4f}')  # as the program prints it
        _training['step'] = step + 1
        count -= 1
    return json.dumps(losses)


def live_figure(kind, values='{}'):
    """A live figure's values (book/_ext/livefig.py): JSON from livefigrt.figure, the program's own computation."""
    import livefigrt
    return livefigrt.figure(kind, values)


_install_stand_ins()
