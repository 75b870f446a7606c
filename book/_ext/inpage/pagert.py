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
import os
import random
import re
import sys
import time
import traceback
import types

NAMESPACE = {'__name__': '__main__', '__builtins__': __builtins__}
_outputs = None
# What a cell prints is kept up to this many lines (the page shows the first SHOWN_LINES of them, inpage.js, and the
# rest on "show all"); beyond, the lines are only counted, so a runaway print loop cannot fill the browser's memory.
KEPT_LINES = 100_000
KEPT_CHARS = 10_000_000
LIVE_EVERY = 0.25  # seconds: what a running cell prints reaches the page at once, then at most this often


class _Outputs:
    def __init__(self, live=None):
        self.items = []
        self.lines = self.chars = self.dropped = 0
        self.live, self.pending, self.sent = live, [], None  # live(JSON of [[kind, text], ...] printed since the last)

    def add(self, kind, text):
        if not text:
            return
        if kind in ('stdout', 'stderr'):
            if self.lines >= KEPT_LINES or self.chars >= KEPT_CHARS:
                self.dropped += text.count('\n')
                return
            self.lines += text.count('\n')
            self.chars += len(text)
            if self.live is not None:
                self.pending.append([kind, text])
                if self.sent is None or time.monotonic() - self.sent >= LIVE_EVERY:
                    self.live(json.dumps(self.pending))
                    self.pending, self.sent = [], time.monotonic()
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
    """A cell's traceback as Jupyter (IPython) shows it, without this module's frames (the stand-in input()); a missing
    module and input() end in the sentences above."""
    if isinstance(err, ModuleNotFoundError):  # Pyodide's own message names it without setting err.name
        named = err.name or next(iter(re.findall(r"module (?:named )?'([\w.]+)'", str(err))), None)
        if named:
            err = ModuleNotFoundError(NO_MODULE.format(name=named.split('.')[0]), name=named).with_traceback(err.__traceback__)
    frames = [frame for frame in traceback.walk_tb(err.__traceback__.tb_next if err.__traceback__ else None)
              if frame[0].f_code.co_filename != __file__ and '/_pyodide/' not in frame[0].f_code.co_filename
              and not frame[0].f_code.co_filename.startswith('<frozen importlib')]
    return ipython_traceback(err, frames)


TRACEBACK_WIDTH = 75  # IPython's: a line of dashes, then the exception's name and "Traceback (most recent call last)"
CONTEXT = 2           # lines shown before and after the line that raised (IPython shows this many statements)


def _where(filename):
    """`Cell In[4]` for a cell's code (run_cell names it <In[4]>), else the file's path, as IPython says it."""
    match = re.fullmatch(r'<(In\[\d+\])>', filename)
    home = os.path.expanduser('~')
    if not match and home not in ('', '/') and filename.startswith(home + '/'):
        filename = '~' + filename[len(home):]  # as IPython writes the home folder
    return f'Cell {match.group(1)}' if match else f'File {filename}'


def _context(code, line):
    """The numbered lines around `line` as IPython shows them: the line that raised marked with an arrow, up to CONTEXT
    non-blank lines before it (not above the function it is in) and after it (not past the function's end)."""
    lines = linecache.getlines(code.co_filename)
    if not 0 < line <= len(lines):
        return []
    first = code.co_firstlineno if code.co_name != '<module>' else 1
    last = max((l for _, _, l in code.co_lines() if l), default=len(lines)) if code.co_name != '<module>' else len(lines)
    shown = lambda n: lines[n - 1].strip()
    before = [n for n in range(line - 1, first - 1, -1) if shown(n)][:CONTEXT][::-1]
    after = [n for n in range(line + 1, last + 1) if shown(n)][:CONTEXT]
    indent = len(lines[first - 1]) - len(lines[first - 1].lstrip())  # a method's lines are shown from its def's column
    text = lambda n: lines[n - 1][indent:].rstrip() if lines[n - 1][:indent].isspace() else lines[n - 1].rstrip()
    width = 7
    out = [f'{n:>{width}} {text(n)}' for n in before]
    out.append(f'{"-" * (width - len(str(line)) - 2)}> {line} {text(line)}')
    out += [f'{n:>{width}} {text(n)}' for n in after]
    return out


def ipython_traceback(err, frames):
    """The text Jupyter shows for an error (IPython's plain traceback, without colours): for a SyntaxError the line and
    a caret; else a line of dashes, the exception's name beside "Traceback (most recent call last)", each frame (where,
    the line, the lines around it) and the exception's last line."""
    name = type(err).__qualname__
    last = ''.join(traceback.format_exception_only(type(err), err)).rstrip('\n').splitlines()
    module = type(err).__module__ + '.'
    if last and last[-1].startswith(module + name):  # IPython names the exception without its module
        last[-1] = last[-1][len(module):]
    if isinstance(err, SyntaxError) and err.filename:
        where = _where(err.filename)
        detail = last[1:] if last and last[0].lstrip().startswith('File ') else last
        return f'  {where}, line {err.lineno}\n' + '\n'.join(detail) + '\n'
    heading = 'Traceback (most recent call last)'
    parts = []
    for frame, line in frames:
        code = frame.f_code
        where = f'{_where(code.co_filename)}' + (f':{line}' if not code.co_filename.startswith('<In[') else f', line {line}')
        if code.co_name != '<module>':
            args = inspect_args(code)
            where += f', in {getattr(code, "co_qualname", code.co_name)}({args})'
        parts.append('\n'.join([where, *_context(code, line)]))
    text = ('-' * TRACEBACK_WIDTH + '\n' + f'{name:<{TRACEBACK_WIDTH - len(heading)}}{heading}\n'
            + ''.join(part + '\n\n' for part in parts) + '\n'.join(last))
    if isinstance(err, BaseException) and not str(err) and last == [name]:
        text += ': '  # IPython writes "KeyboardInterrupt: " for an exception with no message
    return text + '\n'


def inspect_args(code):
    """The parameters of a function as IPython lists them after its name: a, b, *args, c, **kw."""
    names = list(code.co_varnames)
    count = code.co_argcount + code.co_kwonlyargcount
    shown = names[:code.co_argcount]
    rest = names[code.co_argcount:count]
    at = count
    if code.co_flags & 0x04:  # *args
        shown.append('*' + names[at])
        at += 1
    shown += rest
    if code.co_flags & 0x08:  # **kwargs
        shown.append('**' + names[at])
    return ', '.join(shown)


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


def run_cell(code, label, live=None):
    """Run one cell; JSON of its outputs. live, if given, receives what it prints while it runs (see _Outputs)."""
    global _outputs
    _outputs = outputs = _Outputs(live)
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


# ---------------------------------------------------------------- which cells a Run needs

# Calls through these names change nothing a later cell reads (the book's runtime, pure modules and builtins); a method
# called on any other name may change what that name holds (a function changing what it is given is not looked for:
# the test of every page, tests/test_inpage.py, would see it). `random` is read by every cell (the program draws from
# it without naming it), so a hidden cell that draws random numbers always runs.
PURE = frozenset('''tangle runtime math statistics json re string itertools functools collections Counter glue Markdown
HTML display print len str int float sum max min sorted list set dict tuple range enumerate zip repr abs round any all
isinstance format map filter reversed bool type hasattr getattr frozenset divmod pow chr ord hex bin hash pathlib Path
ast textwrap inspect dataclasses fractions Fraction decimal difflib time sys os io _lessons'''.split())
# Methods that change nothing: of dicts, strings and counters, and of the program (its forward pass reads the weights).
READING = frozenset('''values keys items get index count copy most_common total join split rsplit strip rstrip lstrip
startswith endswith format replace lower upper find splitlines isalpha isdigit read_text exists is_file encode decode
gpt name_loss softmax linear rmsnorm log exp relu'''.split())
ALWAYS_READ = frozenset({'random'})


def _root(node):
    """The name an attribute, subscript or call chain starts from (`a` of a.b[1].c()), or None."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def names_of(code):
    """(what a cell binds at its top level, what it may change through calls and stores, what it reads anywhere),
    three sets of names; None if the page's Python cannot parse it."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound, changed, first_bound, loads, later = set(), set(), {}, [], []  # later: names read in bodies run later

    def visit(node, top, local):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                bound.add(node.name)
                first_bound.setdefault(node.name, node.lineno)
            for inner in ast.walk(node):  # its body runs when it is called: only what it declares global is bound
                if isinstance(inner, ast.Global):
                    bound.update(inner.names)
                elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                    later.append(inner.id)
            if isinstance(node, ast.ClassDef):  # a class body runs now
                for child in node.body:
                    visit(child, False, local)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            loads.append((node.id, node.lineno))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != '*':
                    bound.add((alias.asname or alias.name).split('.')[0])
                    first_bound.setdefault((alias.asname or alias.name).split('.')[0], node.lineno)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and top:
            bound.add(node.id)
            first_bound.setdefault(node.id, node.lineno)
        elif isinstance(node, ast.NamedExpr):
            bound.add(node.target.id)
            first_bound.setdefault(node.target.id, node.lineno)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            changed.add(_root(node))
        elif isinstance(node, ast.Call):
            callee = _root(node.func)
            if callee not in PURE and isinstance(node.func, ast.Attribute) and node.func.attr not in READING:
                changed.add(callee)
        elif isinstance(node, ast.ExceptHandler) and node.name and top:
            bound.add(node.name)
            first_bound.setdefault(node.name, node.lineno)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):  # its own loop variables
            local = local | {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            top = False
        for child in ast.iter_child_nodes(node):
            visit(child, top, local)

    for statement in tree.body:
        visit(statement, True, frozenset())
    changed.discard(None)
    # what it reads of earlier cells: a name read before this cell binds it (on a later line), or in a body run later
    reads = {name for name, line in loads if line <= first_bound.get(name, line)}
    reads |= {name for name in later if name not in bound}
    return bound, changed, reads


def plan(cells, target):
    """Which of the cells before a Run the page runs first, as JSON: their indexes. cells: JSON list of [code, shown,
    ran, jupyter_only] for every cell of the page before the target, in order; target: the code that Run runs.

    Every shown cell not yet run runs (its output is on the page), and a hidden one only when a cell that runs after it
    reads a name it binds or changes: a hidden cell that only checks the prose (its asserts) and glues numbers into it
    costs the reader nothing. Walking back from the target: what the cells that run read is live; a cell that ran
    already binds its names, so the ones before it need not bind them again."""
    cells = json.loads(cells)
    target_names = names_of(target)
    live = set(ALWAYS_READ) | (target_names[2] if target_names else set())
    everything = target_names is None  # an unparsable target (a reader's typo): run everything, as before
    chosen = []
    for index in range(len(cells) - 1, -1, -1):
        code, shown, ran, jupyter_only = cells[index]
        names = names_of(code)
        if jupyter_only:
            continue
        if ran:
            if names:
                live -= names[0]
            continue
        if everything or shown or names is None or (names[0] | names[1]) & live:
            chosen.append(index)
            if names:
                live = (live - names[0]) | names[2] | names[1]
    return json.dumps(sorted(chosen))


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
