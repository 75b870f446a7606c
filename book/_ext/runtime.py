"""The runtime of the book's executed cells: the program as the chapters have it, its runs, its variants.

One file, two homes. In a checkout (the build, the tests, a downloaded notebook) it sits in book/_ext/ and
reads the book with tangle.py, trains in a fresh Python and caches every run in _build/microgpt-run/. In
the reader's browser (book/_ext/inpage.py) the very same file sits at the same place under the page's
root, beside _inpage/, and reads what the build wrote there: the chunks, the runs, the timing, the names.
tangle.py re-exports what cells use, so `tangle.load(...)` works in both.

    load(NAME)                      run the program through chunk NAME; its globals as a module
    load(NAME, trained=True)        the same, with the cached run's weights in place of the training loop
    load(NAME, trained=STEP)        ... with the weights after STEP steps (SNAPSHOT_STEPS)
    load(NAME, variant=V)           the program with variant V's change (a name of VARIANTS, or a list)
    trained_run()                   the program's one cached training run
    variant_run(V)                  one cached training run of the program with variant V's change
    variant_diff(V)                 the change as a reader would write it: a diff against the real listing
    timings()                       the program's one cached speed measurement
    snapshot_run()                  what the weights after each kept step do: held-out losses and samples
    png(GRAPH)                      a graphviz graph as the image a figure cell shows (PNG; PDF too for LaTeX)

A *variant* is the tangled program plus a small named change: these lines of this chunk become these.
It runs as the real program does (same names, same seed unless the variant is a seed) in a fresh Python,
cached by the hash of the changed program and the data, so each distinct run trains at most once.
"""

import bisect
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout (in the page: the page's root)
PAGE_DATA = ROOT / '_inpage'                           # what the build wrote for the page (only there)
IN_PAGE = (PAGE_DATA / 'book.json').is_file()
PROGRAM = 'microgpt.py'
DATA_ENV = 'MICROGPT_NAMES'
TRAINING_CHUNK = 'train-loop'  # the chunk that trains; load(trained=True) replaces it by cached weights
SNAPSHOT_STEPS = (0, 50, 200, 500, 1000)  # the main run keeps the weights after these many steps
RUN_FORMAT = 4  # part of the cache key: a cached run of an older format is never read
HELDOUT_FROM = 2000  # held-out names come from the shuffled list after this position (past every run's training)
HELDOUT_COUNT = 300  # ... and are the first this many whose spelling occurs once in the file
SAMPLE_COUNT = 200   # samples each run draws at each of SAMPLE_TEMPERATURES, after the program's own 20
SAMPLE_TEMPERATURES = (1.0, 0.5)
SAMPLE_SEED = 0      # the random state those samples start from (the same for every run)
PARALLEL_RUNS = 2    # trainings a build runs at once


# ---------------------------------------------------------------- the book as read

@dataclass
class Chunk:
    """One named chunk: where it is written and where its lines land in the program."""
    name: str
    path: str          # chapter file, relative to the book root
    docname: str       # Sphinx document name of that chapter
    body_line: int     # 1-based line of the chapter where the chunk's body starts
    lines: list        # the chunk's lines, without line endings
    start: int = 0     # 1-based line of microgpt.py where the chunk starts

    @property
    def last(self):
        """The program line of the chunk's last non-blank line."""
        shown = len(self.lines)
        while shown > 1 and not self.lines[shown - 1].strip():
            shown -= 1
        return self.start + shown - 1


@dataclass
class Book:
    """The chunks of a book in tangle order, and the program they make."""
    root: Path
    docnames: list
    chunks: list = field(default_factory=list)

    def chunk(self, name):
        """The chunk called name; KeyError if there is none."""
        if len(getattr(self, '_by_name', ())) != len(self.chunks):
            self._by_name = {chunk.name: chunk for chunk in self.chunks}
        if name not in self._by_name:
            raise KeyError(f"unknown chunk '{name}'")
        return self._by_name[name]

    @property
    def lines(self):
        """The tangled program, one string per line."""
        return [line for chunk in self.chunks for line in chunk.lines]

    @property
    def text(self):
        """The tangled program as written to microgpt.py."""
        return ''.join(line + '\n' for line in self.lines)

    @property
    def digest(self):
        """A short hash of the chunk table: changes whenever a chunk's text, name or place does."""
        table = '\n'.join(f'{c.name}\0{c.docname}\0{c.start}\0' + '\n'.join(c.lines) for c in self.chunks)
        return hashlib.sha256(table.encode()).hexdigest()[:16]

    def through(self, name):
        """Source of the program up to and including chunk name."""
        end = self.chunk(name)
        return ''.join(line + '\n' for line in self.lines[:end.start - 1 + len(end.lines)])

    def locate(self, program_line):
        """(chunk, chapter line) that produce a 1-based program line (clamped to the program)."""
        if getattr(self, '_starts', (None, -1))[1] != len(self.chunks):
            self._starts = [c.start for c in self.chunks], len(self.chunks), sum(len(c.lines) for c in self.chunks)
        starts, _, total = self._starts
        program_line = max(1, min(program_line, total))
        index = bisect.bisect_right(starts, program_line) - 1
        for chunk in self.chunks[max(index, 0):]:
            if chunk.start <= program_line < chunk.start + len(chunk.lines):
                return chunk, chunk.body_line + program_line - chunk.start
        raise KeyError(program_line)


def line_span(first, last):
    """'line 7' or 'lines 7–9': how the book cites program lines."""
    return f'line {first}' if first == last else f'lines {first}\u2013{last}'


def resolve_lines(book, text):
    """(chunk, first line, last line) for NAME, NAME:N, NAME:N-M or NAME~text."""
    match = re.match(r'^([a-z0-9-]+)(?::(\d+)(?:-(\d+))?|~(.+))?$', text.strip())
    if not match:
        raise KeyError(f"'{text}' is not NAME, NAME:N, NAME:N-M or NAME~text")
    chunk = book.chunk(match.group(1))
    count = chunk.last - chunk.start + 1
    if match.group(4):
        for offset, line in enumerate(chunk.lines[:count]):
            if match.group(4) in line:
                return chunk, chunk.start + offset, chunk.start + offset
        raise KeyError(f"no line of chunk '{chunk.name}' contains '{match.group(4)}'")
    if match.group(2):
        lo = int(match.group(2))
        hi = int(match.group(3) or lo)
        if not 1 <= lo <= hi <= count:
            raise KeyError(f"chunk '{chunk.name}' has {count} lines; '{text}' is outside it")
        return chunk, chunk.start + lo - 1, chunk.start + hi - 1
    return chunk, chunk.start, chunk.last


_PAGE_JSON = {}


def _json(name):
    """A JSON file the build wrote for the page (in the page only)."""
    if name not in _PAGE_JSON:
        _PAGE_JSON[name] = json.loads((PAGE_DATA / name).read_text(encoding='utf-8'))
    return _PAGE_JSON[name]


def read_book(root=ROOT, texts=None):
    """The chunks of the program: read from the chapters by tangle.py, or (in the page) as the build read them."""
    if IN_PAGE:
        book = _json('book.json')
        return Book(Path(root), book['docnames'], [Chunk(**c) for c in book['chunks']])
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import tangle
    return tangle.read_book(root, texts)


def names_file(root=ROOT):
    """The names data: $MICROGPT_NAMES, else ../shared/data/names.txt beside the checkout, else None
    (in the page: the names file the build used)."""
    if IN_PAGE:
        return PAGE_DATA / 'names.txt'
    candidates = [os.environ.get(DATA_ENV), Path(root).parent / 'shared' / 'data' / 'names.txt']
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


# ---------------------------------------------------------------- variants: small named changes

@dataclass(frozen=True)
class Edit:
    """In chunk `chunk`, the consecutive lines `old` (exactly as the chapter has them) become `new`."""
    chunk: str
    old: str
    new: str


@dataclass(frozen=True)
class Variant:
    """A named change to the program, as a reader would make it, and what it asks."""
    title: str      # a few words: 'no residual connections'
    question: str   # what running it tells
    edits: tuple
    switch: str = ''  # the playground switch it belongs to ('' for none)


def _replace(chunk, old, new):
    return Edit(chunk, old, new)


_ATTN_OUT = "        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])\n"
_MLP_OUT = "        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])\n"
_ADD = '        x = [a + b for a, b in zip(x, x_residual)]\n'
_ADAM_UPDATE = '        p.data -= lr * m_hat / (v_hat ** 0.5 + eps_adam)\n'
_HYPER = 'learning_rate, beta1, beta2, eps_adam = 0.01, 0.85, 0.99, 1e-8\n'


def plain_descent(lr):
    """The variant that replaces Adam's update by plain gradient descent at learning rate lr."""
    return Variant(f'plain gradient descent, learning rate {lr}',
                   'what Adam adds over stepping every parameter by the learning rate times its gradient',
                   (_replace('adam', _HYPER, _HYPER.replace('0.01', str(lr), 1)),
                    _replace('adam', _ADAM_UPDATE, '        p.data -= lr * p.grad  # plain gradient descent\n')),
                   'optimizer')


def seed(seed):
    """The variant of the program with another random seed (other initial weights, another order of names)."""
    return Variant(f'seed {seed}', 'how much the result moves when only chance changes: other weights, '
                   'another order of names', (_replace('preamble', 'random.seed(42)', f'random.seed({seed})'),),
                   'seed')


VARIANTS = {  # the seeds first: every page that compares needs their spread
    'seed-1': seed(1),
    'seed-2': seed(2),
    'seed-3': seed(3),
    'no-residual': Variant(
        'no residual connections',
        'what the two additions of the block are worth',
        (_replace('attention-out', _ATTN_OUT + _ADD, _ATTN_OUT), _replace('mlp', _MLP_OUT + _ADD, _MLP_OUT)),
        'residual'),
    'no-rmsnorm': Variant(
        'no rmsnorm',
        'what rescaling each vector is worth',
        (_replace('rmsnorm', '    mean_square = sum(xi * xi for xi in x) / len(x)\n'
                             '    scale = (mean_square + 1e-5) ** -0.5\n'
                             '    return [xi * scale for xi in x]\n',
                  '    return x  # no rescaling\n'),),
        'norm'),
    'no-attention': Variant(
        'attention\'s output removed',
        'what looking back at earlier letters is worth',
        (_replace('attention-out', _ADD, '        x = x_residual  # attention\'s output is dropped\n'),),
        'attention'),
    'no-mlp': Variant(
        'the MLP removed',
        'what the per-position MLP is worth',
        (_replace('mlp', _MLP_OUT + _ADD, _MLP_OUT + '        x = x_residual  # the MLP\'s output is dropped\n'),),
        'mlp'),
    'sgd-0.03': plain_descent(0.03),
    'sgd-0.1': plain_descent(0.1),
    'sgd-0.3': plain_descent(0.3),
    'steps-2000': Variant('2,000 steps', 'what twice as much training buys',
                          (_replace('adam', 'num_steps = 1000\n', 'num_steps = 2000\n'),)),
}
# Not among the runs the build trains: a second transformer block doubles every step's work, so a run costs
# as much as two of the program's (about four minutes of CPU), which the cold build cannot afford. Lesson 32
# shows it as a change for the reader to run; load(..., variant=SECOND_BLOCK) still builds it.
SECOND_BLOCK = Variant('two layers', 'what a second transformer block buys',
                       (_replace('hyperparameters', 'n_layer = 1 ', 'n_layer = 2 '),))
SEEDS = ('seed-1', 'seed-2', 'seed-3')  # with the program's own seed 42, the spread that chance alone gives


def _edits(variant):
    """The edits of a variant: a name of VARIANTS, a Variant, a list of those, or a list of Edits."""
    if variant is None:
        return []
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise KeyError(f"unknown variant '{variant}'; the book has {', '.join(VARIANTS)}")
        return list(VARIANTS[variant].edits)
    if isinstance(variant, Variant):
        return list(variant.edits)
    if isinstance(variant, Edit):
        return [variant]
    return [edit for v in variant for edit in _edits(v)]


def _apply(text, old, new, where):
    """text with the one occurrence of old replaced by new; ValueError naming `where` otherwise."""
    found = text.count(old)
    if found != 1:
        raise ValueError(f'{where}: the change expects {old!r} {"once" if found else ""} in the chunk, '
                         f'which has it {found} times' if found else
                         f'{where}: the chunk no longer has {old!r}, so the change cannot be made')
    return text.replace(old, new)


def program(variant=None, book=None, root=ROOT):
    """The book with a variant's change made to its chunks (their program lines renumbered); the book itself
    if variant is None. ValueError when the chunk no longer has the lines the change replaces."""
    book = book or read_book(root)
    edits = _edits(variant)
    if not edits:
        return book
    texts = {c.name: ''.join(line + '\n' for line in c.lines) for c in book.chunks}
    for edit in edits:
        if edit.chunk not in texts:
            raise ValueError(f"variant {variant!r}: the program has no chunk '{edit.chunk}'")
        texts[edit.chunk] = _apply(texts[edit.chunk], edit.old, edit.new, f"variant {variant!r}, chunk '{edit.chunk}'")
    chunks, start = [], 1
    for c in book.chunks:
        lines = texts[c.name].splitlines()
        chunks.append(Chunk(c.name, c.path, c.docname, c.body_line, lines, start))
        start += len(lines)
    return Book(book.root, book.docnames, chunks)


def variant_diff(variant, root=ROOT, context=1):
    """The change as a diff against the real listing: '-' lines leave, '+' lines come, each real line with its
    number in microgpt.py; one block per changed place, under the chunk's name."""
    book = read_book(root)
    changed = program(variant, book)
    out = []
    for real, new in zip(book.chunks, changed.chunks):
        if real.lines == new.lines:
            continue
        import difflib
        matcher = difflib.SequenceMatcher(a=real.lines, b=new.lines, autojunk=False)
        for group in matcher.get_grouped_opcodes(context):
            first = real.start + group[0][1]
            out.append(f'@@ {real.name}, from line {first} of {PROGRAM} @@')
            for tag, i1, i2, j1, j2 in group:
                if tag == 'equal':
                    out += [f' {real.start + i:4d}  {real.lines[i]}' for i in range(i1, i2)]
                if tag in ('delete', 'replace'):
                    out += [f'-{real.start + i:4d}  {real.lines[i]}' for i in range(i1, i2)]
                if tag in ('insert', 'replace'):
                    out += [f'+      {new.lines[j]}' for j in range(j1, j2)]
    return '\n'.join(out)


# ---------------------------------------------------------------- running the program in a cell

def load(through, root=ROOT, data=None, trained=False, before_training=None, variant=None, weights='variant'):
    """Run the program as the chapters have it, through chunk `through`; return its globals as a module.

    The program reads input.txt from its working folder, so it runs in a temporary folder where
    input.txt is the names file (or, with no names file here, in _build/ where it may download it).
    What the program prints is kept in the module's `output`. With trained=True the training loop
    is not run: the weights of the cached full run (see trained_run) are put in its place, and the
    chunks after it run as they would after training. trained=STEP (one of SNAPSHOT_STEPS) does the
    same with the weights the run had after STEP training steps (0: the initial weights).
    before_training(module), if given, is called just before the training loop runs.
    variant: run the program with that change (a name of VARIANTS, or a list of names or Edits); with
    trained=True, the weights are those of the variant's own cached run, or with weights='program' those of
    the program's run (the trained model with a part knocked out, not retrained).
    """
    if weights not in ('variant', 'program'):
        raise ValueError(f"weights is 'variant' or 'program', not {weights!r}")
    book = program(variant, read_book(root))
    end = book.chunk(through)
    chunks = [c for c in book.chunks if c.start <= end.start]
    module = types.ModuleType('microgpt')
    module.__file__ = PROGRAM
    data = Path(data) if data else names_file(root)
    source, weights = weights, None  # whose run the weights come from; then the weights themselves
    if trained is not False:
        run = trained_run(root, data) if variant is None or source == 'program' else variant_run(variant, root, data)
        if trained is True:
            weights = run['state_dict']
        elif str(trained) in run.get('snapshots', {}):
            weights = run['snapshots'][str(trained)]
        else:
            raise KeyError(f'the cached run has no snapshot after {trained} steps; '
                           f'it has {sorted(map(int, run.get("snapshots", {})))}')
    with contextlib.ExitStack() as stack:
        if data:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            (workdir / 'input.txt').symlink_to(data.resolve())
        else:
            workdir = Path(root) / '_build' / 'microgpt-data'
            workdir.mkdir(parents=True, exist_ok=True)
        printed = io.StringIO()
        stack.enter_context(contextlib.chdir(workdir))
        stack.enter_context(contextlib.redirect_stdout(printed))
        # the chunks before the training loop; then (trained) the cached run's weights; then the rest
        cut = next((i for i, c in enumerate(chunks) if c.name == TRAINING_CHUNK), len(chunks))
        _run_chunks(chunks[:cut], module)
        if weights:
            for name, rows in weights.items():
                for row, values in zip(module.state_dict[name], rows):
                    for p, value in zip(row, values):
                        p.data = value
            cut += 1  # the training loop is replaced by the weights
        elif before_training and cut < len(chunks):
            before_training(module)
        _run_chunks(chunks[cut:], module)
    module.output = printed.getvalue()
    return module


def _run_chunks(chunks, module):
    """Execute consecutive chunks in the module's namespace, keeping their real line numbers."""
    if chunks:
        source = '\n' * (chunks[0].start - 1) + ''.join(line + '\n' for c in chunks for line in c.lines)
        exec(compile(source, PROGRAM, 'exec'), module.__dict__)


# ---------------------------------------------------------------- cached runs

def trained_run(root=ROOT, data=None):
    """The full run of the program as the chapters have it, trained once and cached.

    Returns a dict: the loss of every step ('losses'), the 20 samples it printed ('samples'), the trained
    weights ('state_dict', as floats), the weights after each of SNAPSHOT_STEPS steps ('snapshots', keyed
    by the step as a string), everything it printed ('output'), the seconds training took, and what
    every run of the book measures after training (see variant_run): 'heldout', 'heldout_losses',
    'heldout_names', 'samples_by_temperature', 'moved'. The cache is _build/microgpt-run/run-<key>.json,
    keyed by the hash of the tangled program and of the names data, so any change to either trains again
    and an unchanged book never does; each training adds a line to _build/microgpt-run/trainings.log.
    """
    if IN_PAGE:
        return _json('run.json')
    return _cached('run', None, root, data)


def variant_run(variant, root=ROOT, data=None):
    """The full run of the program with a variant's change, trained once and cached like trained_run.

    The same keys as trained_run (no snapshots but the first and last), among them:
    'heldout' the mean loss on the held-out names (HELDOUT_COUNT names from the shuffled list after position
    HELDOUT_FROM whose spelling occurs once in the file and not among this run's training names), with each
    name's loss in 'heldout_losses' and the names in 'heldout_names'; 'samples_by_temperature' {'1.0': [...],
    '0.5': [...]}, SAMPLE_COUNT names at each temperature from the same random state; 'moved' {group: the
    mean absolute change of the group's weights from their initial to their final values}.
    """
    if IN_PAGE:
        return _json('variants.json')[variant if isinstance(variant, str) else json.dumps(variant)]
    return _cached('run', variant, root, data)


def snapshot_run(root=ROOT, data=None):
    """What the main run's weights after each of SNAPSHOT_STEPS steps do, measured once and cached like it.

    Returns {'steps': the steps, 'heldout_losses': {step: each held-out name's loss}, 'samples_by_temperature':
    {step: {temperature: SAMPLE_COUNT names}}}, steps and temperatures as strings: for every snapshot what the
    run itself measures for its final weights, in the same way (the program through its last chunk with those
    weights, random.seed(SAMPLE_SEED) before each temperature's samples). The final step's figures are the
    run's own. A page that compares the model along the way reads this instead of measuring the snapshots
    again in every build (about a minute of pure Python).
    """
    if IN_PAGE:
        return _json('snapshots.json')
    return _cached('snapshots', None, root, data)


def timings(root=ROOT, data=None):
    """One measurement of the program's speed, shared by every page that cites a time; cached like trained_run.

    Measured once per program and data in a fresh Python (TIMINGS_FORMAT, not RUN_FORMAT, is in its cache key),
    in processor time (time.process_time: the seconds the program itself
    used, which other programs on a busy machine stretch far less than the clock). First the program's own
    training loop, all its steps, with the collector off as the program has it, timed in the main run itself
    (trained_run): 'loop_seconds' (processor time), 'loop_wall_seconds' (on the clock) and 'loop_steps'.
    Then, measured apart: after one warm-up name, each of TIMED_NAMES names is put through one training step (forward,
    backward, adam_step) with the garbage collector off and then again with it on, the weights put back each
    time, TIMED_REPEATS times; each figure of a name is its fastest repeat. Returned: the medians over those
    names of the forward pass, the backward pass, the step with the collector off and on and the seconds
    inside the collector; 'backward_over_forward' (the median backward over the median forward, as printed
    side by side) and 'gc_share' (the median seconds inside the collector over the median step with it on);
    the mean collections of each generation and objects the collector freed per step; each name's forward and
    backward seconds; and the machine it ran on ('machine': its fields, 'machine_text': one phrase for the
    prose). Seconds are floats; the names are listed.
    """
    if IN_PAGE:
        return _json('timings.json')
    run = trained_run(root, data)
    return {**_cached('timings', None, root, data), 'loop_seconds': run['loop_seconds'],
            'loop_wall_seconds': run['loop_wall_seconds'], 'loop_steps': run['num_steps']}


def cache_path(kind, variant=None, root=ROOT, data=None):
    """Where the run (or timing) of the program with the variant's change is cached: the key is the hash of
    RUN_FORMAT and what every run measures (the constants above), the changed program and the names data; for
    the timing, TIMINGS_FORMAT and its own constants in place of the run's."""
    book = program(variant, read_book(root))
    data = Path(data) if data else names_file(root)
    measures = (RUN_FORMAT, SNAPSHOT_STEPS, HELDOUT_FROM, HELDOUT_COUNT, SAMPLE_COUNT, SAMPLE_TEMPERATURES, SAMPLE_SEED)
    if kind == 'timings':  # the timing has a format of its own: changing it never trains a run again
        measures = ('timings', TIMINGS_FORMAT, TIMED_NAMES, TIMED_REPEATS)
    key = hashlib.sha256(f'{measures}\n'.encode() + book.text.encode()
                         + (data.read_bytes() if data else b'')).hexdigest()[:16]
    return Path(root) / '_build' / 'microgpt-run' / f'{kind}-{key}.json'


@contextlib.contextmanager
def _locked(cache):
    """Hold the lock of one cache file while it is made; none is needed to read a cache that exists
    (it is written whole, by a rename), so a page never waits for a training to read the timings."""
    if cache.exists():
        yield
        return
    import fcntl
    with open(cache.with_suffix('.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cached(kind, variant, root, data):
    """The JSON cached for (kind, variant), made first in a fresh Python if it is not there. Two builds (or a
    build and one of its pages) at once: the second waits for the first and reads its cache."""
    root = Path(root)
    data = Path(data) if data else names_file(root)
    cache = cache_path(kind, variant, root, data)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with _locked(cache):
        if not cache.exists():
            {'run': _train, 'timings': _time, 'snapshots': _measure_snapshots}[kind](variant, root, data, cache)
    return json.loads(cache.read_text(encoding='utf-8'))


def _write_atomically(path, text):
    """Write text to path through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def name_losses(m, names):
    """[m.name_loss(name).data for name in names], to the last bit, at about 60% of the cost.

    The program's model is causal: what it computes at a position depends only on the tokens up to there. So
    names that start alike share their first forward passes. The names are walked as a tree of prefixes; each
    prefix goes through m.gpt and m.softmax once, with the keys and values of its own prefix (the lists are cut
    back on the way up), and each name's losses are then summed and divided exactly as name_loss does. The held-
    out names of a run share 1,337 prefixes among 2,176 positions. As a guard against a program whose name_loss
    is no longer this computation, the first names are also put through m.name_loss and must agree exactly."""
    tokens = [m.encode(name) for name in names]
    counts = [min(m.block_size, len(t) - 1) for t in tokens]  # positions with a next token, as in name_loss
    losses = [[] for _ in names]
    keys, values = [[] for _ in range(m.n_layer)], [[] for _ in range(m.n_layer)]

    def visit(pos, members):  # the names whose tokens[:pos + 1] are alike and which predict at pos
        probs = m.softmax(m.gpt(tokens[members[0]][pos], pos, keys, values))
        after = {}
        for i in members:
            losses[i].append(-probs[tokens[i][pos + 1]].log())
            if pos + 1 < counts[i]:
                after.setdefault(tokens[i][pos + 1], []).append(i)
        for group in after.values():
            visit(pos + 1, group)
            for layer in range(m.n_layer):
                del keys[layer][pos + 1:], values[layer][pos + 1:]

    starts = {}
    for i, t in enumerate(tokens):
        starts.setdefault(t[0], []).append(i)
    for group in starts.values():
        visit(0, group)
        for layer in range(m.n_layer):
            del keys[layer][:], values[layer][:]
    out = [(sum(ls) / n).data for ls, n in zip(losses, counts)]
    for name, loss in list(zip(names, out))[:3]:
        if m.name_loss(name).data != loss:
            raise RuntimeError(f'name_losses differs from the program\'s name_loss on {name!r}')
    return out


def _in_fresh_python(call, args, what):
    """The standard output of runtime.<call>(*args) run in a new Python; RuntimeError naming `what` if it fails."""
    here = str(Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, '-c', f'import sys; sys.path.insert(0, {here!r}); import runtime; '
                           f'runtime.{call}(*sys.argv[1:])', *args],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{what} of the tangled program failed:\n{done.stderr[-3000:]}')
    return done.stdout


def _weights(module):
    """The module's state_dict as plain floats."""
    return {k: [[p.data for p in row] for row in w] for k, w in module.state_dict.items()}


def heldout_names(in_file, trained_on):
    """The held-out names of a run: from the names in the file's order, shuffled as the program shuffles them
    with seed 42, the first HELDOUT_COUNT after position HELDOUT_FROM whose spelling occurs once in the file and
    is not in trained_on (the run's training names)."""
    import random
    from collections import Counter
    shuffled = list(in_file)
    random.Random(42).shuffle(shuffled)
    once = Counter(in_file)
    trained_on = set(trained_on)
    return [n for n in shuffled[HELDOUT_FROM:] if once[n] == 1 and n not in trained_on][:HELDOUT_COUNT]


def _training_main(variant, root, data):
    """In a fresh Python: run the whole program (with the variant's change), keep snapshots of the weights,
    then measure the held-out loss, draw the samples and print the run as JSON."""
    import random
    variant = json.loads(variant)
    snapshots, loop = {}, {}  # the weights kept; the training loop's processor and clock seconds

    def keep_snapshots(module):
        adam_step = module.adam_step
        kept = SNAPSHOT_STEPS if variant is None else ()

        def adam_step_and_snapshot(step):  # the training loop calls the program's adam_step through this
            adam_step(step)
            if step + 1 == module.num_steps:  # the loop's last step is done: its time, without the snapshots
                loop['cpu'], loop['wall'] = time.process_time() - loop['cpu'], time.perf_counter() - loop['wall']
            if step + 1 in kept:
                snapshots[str(step + 1)] = _weights(module)
        module.adam_step = adam_step_and_snapshot
        snapshots['0'] = _weights(module)
        loop['cpu'], loop['wall'] = time.process_time(), time.perf_counter()  # the training loop starts now

    book = program(variant, read_book(root))
    m = load(book.chunks[-1].name, root, data or None, before_training=keep_snapshots, variant=variant)
    final = _weights(m)
    snapshots[str(m.num_steps)] = final
    names = Path(data) if data else names_file(root) or Path(root) / '_build' / 'microgpt-data' / 'input.txt'
    with open(names, encoding='utf-8') as f:  # in the file's order, as the program reads it
        in_file = [line.strip() for line in f if line.strip()]
    held = heldout_names(in_file, m.docs[:m.num_steps])
    losses = name_losses(m, held)
    by_temperature = {}
    for t in SAMPLE_TEMPERATURES:
        random.seed(SAMPLE_SEED)
        by_temperature[str(t)] = [m.generate(t) for _ in range(SAMPLE_COUNT)]
    moved = {k: sum(abs(a - b) for ra, rb in zip(final[k], snapshots['0'][k]) for a, b in zip(ra, rb))
             / sum(len(r) for r in final[k]) for k in final}
    print(json.dumps({'variant': variant, 'output': m.output, 'state_dict': final, 'snapshots': snapshots,
                      'num_steps': m.num_steps, 'heldout_names': held, 'heldout_losses': losses,
                      'heldout': sum(losses) / len(losses), 'samples_by_temperature': by_temperature,
                      'moved': moved, 'cpu_seconds': time.process_time(),
                      'loop_seconds': loop['cpu'], 'loop_wall_seconds': loop['wall']}))


def _train(variant, root, data, cache):
    """Run the whole (changed) program in a fresh Python and write what variant_run returns to cache."""
    began = time.perf_counter()
    run = json.loads(_in_fresh_python('_training_main', [json.dumps(variant), str(root), str(data or '')],
                                      'training run' if variant is None else f'the run of variant {variant!r}'))
    run['seconds'] = time.perf_counter() - began
    lines = run['output'].replace('\r', '\n').splitlines()
    run['losses'] = [float(m.group(1)) for m in map(re.compile(r'^step +\d+ / \d+ \| loss (\S+)$').match, lines) if m]
    run['samples'] = [m.group(1) for m in map(re.compile(r'^ *\d+\. (.*)$').match, lines) if m]
    _write_atomically(cache, json.dumps(run))
    with open(cache.parent / 'trainings.log', 'a', encoding='utf-8') as log:  # one line per training run
        log.write(f"{cache.stem} {variant or 'the program'} {run['seconds']:.1f}s\n")


def _time(variant, root, data, cache):
    """Measure in a fresh Python and write what timings returns to cache."""
    _write_atomically(cache, _in_fresh_python('_timings_main', [str(root), str(data or '')], 'timing'))


def _measure_snapshots(variant, root, data, cache):
    """Measure the main run's snapshots in a fresh Python and write what snapshot_run returns to cache."""
    trained_run(root, data)  # made first (and alone under its own lock) if it is not there
    _write_atomically(cache, _in_fresh_python('_snapshots_main', [str(root), str(data or '')], 'measuring the snapshots'))


def _snapshots_main(root, data):
    """In a fresh Python: print what snapshot_run returns (JSON)."""
    import random
    run = trained_run(root, data or None)
    last = read_book(root).chunks[-1].name
    out = {'steps': [str(s) for s in SNAPSHOT_STEPS], 'heldout_losses': {}, 'samples_by_temperature': {}}
    for step in SNAPSHOT_STEPS:
        key = str(step)
        if step == run['num_steps']:
            out['heldout_losses'][key] = run['heldout_losses']
            out['samples_by_temperature'][key] = run['samples_by_temperature']
            continue
        m = load(last, root, data or None, trained=step)
        out['heldout_losses'][key] = name_losses(m, run['heldout_names'])
        out['samples_by_temperature'][key] = {}
        for t in SAMPLE_TEMPERATURES:
            random.seed(SAMPLE_SEED)
            out['samples_by_temperature'][key][str(t)] = [m.generate(t) for _ in range(SAMPLE_COUNT)]
    print(json.dumps(out))


TIMINGS_FORMAT = 5  # part of the timing's cache key (alone: the runs' key does not change with it)
TIMED_NAMES = 7  # names timed for the forward and backward pass (after one warm-up name)
TIMED_REPEATS = 3  # each name's step is timed this many times, collector off and on; the fastest is kept


def machine():
    """The machine a measurement runs on, as the runtime can see it: its fields and one phrase for the prose."""
    import platform
    model = ''
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            model = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), '')
    fields = {'processor': model or platform.processor() or platform.machine(), 'architecture': platform.machine(),
              'cpus': os.cpu_count() or 1, 'system': platform.system(),
              'python': f'{platform.python_implementation()} {platform.python_version()}'}
    shown = fields['processor'] if fields['architecture'] in fields['processor'] \
        else f"{fields['processor']} {fields['architecture']}".strip()
    text = (f"{shown} processor, {fields['cpus']} CPU{'s' if fields['cpus'] != 1 else ''}, {fields['system']}, "
            f"{fields['python']}")
    return fields, text


def _timings_main(root, data):
    """In a fresh Python: print the measurements timings() returns (JSON), every figure over the same names."""
    import gc
    import statistics
    clock = time.process_time  # processor time: what the program itself used, whatever else the machine runs
    m = load('adam', root, data or None)
    names = m.docs[:TIMED_NAMES + 1]
    saved = [p.data for p in m.params], list(m.adam_m), list(m.adam_v)
    in_gc, collections, freed, started = [0.0], [0, 0, 0], [0], [0.0]

    def watch(phase, info):
        if phase == 'start':
            started[0] = clock()
        else:
            in_gc[0] += clock() - started[0]
            collections[info['generation']] += 1
            freed[0] += info['collected']

    def one_step(name, collector_on):
        """Seconds of forward, backward and one adam_step on name; then the weights are put back. With the
        collector on, watch() counts the collections of the step alone (not the full one that starts it)."""
        gc.collect()
        if collector_on:
            in_gc[0], collections[:], freed[0] = 0.0, [0, 0, 0], 0
            gc.callbacks.append(watch)
            gc.enable()
        began = clock()
        loss = m.name_loss(name)
        middle = clock()
        loss.backward()
        ended = clock()
        m.adam_step(0)
        done = clock()
        gc.disable()
        if collector_on:
            gc.callbacks.remove(watch)
        del loss
        for p, value in zip(m.params, saved[0]):
            p.data, p.grad = value, 0.0
        m.adam_m[:], m.adam_v[:] = saved[1], saved[2]
        return middle - began, ended - middle, done - began

    gc.disable()
    rows = []
    for name in names:  # the first name only warms up
        repeats = []
        for _ in range(TIMED_REPEATS):
            forward, backward, off = one_step(name, False)
            on = one_step(name, True)[2]
            repeats.append((forward, backward, off, on, in_gc[0], list(collections), freed[0]))
        fastest_on = min(repeats, key=lambda r: r[3])  # the collector's figures come with the step they slowed
        rows.append((min(r[0] for r in repeats), min(r[1] for r in repeats), min(r[2] for r in repeats),
                     *fastest_on[3:]))
    rows = rows[1:]
    median = lambda i: statistics.median(r[i] for r in rows)
    fields, text = machine()
    print(json.dumps({'names': names[1:], 'repeats': TIMED_REPEATS, 'forward': median(0), 'backward': median(1),
            'backward_over_forward': median(1) / median(0),
            'step_gc_off': median(2), 'step_gc_on': median(3), 'in_gc_per_step': median(4),
            'gc_share': median(4) / median(3),
            'collections_per_step': [statistics.mean(r[5][g] for r in rows) for g in range(3)],
            'freed_by_gc_per_step': statistics.mean(r[6] for r in rows),
            'forward_each': [r[0] for r in rows], 'backward_each': [r[1] for r in rows],
            'machine': fields, 'machine_text': text}))


def prepare(root=ROOT, variants=()):
    """Make the timing (first, alone), then the main run (and snapshot_run) and the runs of the given variants, PARALLEL_RUNS
    trainings at a time (each in its own Python); a run that fails is left for the page that needs it to make
    again and show."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        _cached('timings', None, root, None)  # first and alone: speed measured beside trainings carries their load
    except Exception:
        pass

    def one(variant):
        try:
            if variant is None:
                trained_run(root)
                snapshot_run(root)
            else:
                variant_run(variant, root)
        except Exception:
            pass
    with ThreadPoolExecutor(PARALLEL_RUNS, thread_name_prefix='microgpt-run') as pool:
        jobs = [pool.submit(one, v) for v in (None, *variants)]
        for job in jobs:
            try:
                job.result()
            except Exception:
                pass


# ---------------------------------------------------------------- figures drawn by graphviz

# dot sizes a label's text from Graphviz's table of the widths of the printable ASCII characters: graphviz-pure,
# the book's pinned dot, has no other measure (nor has a system Graphviz without its text-layout library). Each
# byte of a character outside the table (the figures write ×, →, – and −, two or three bytes each in UTF-8)
# counts as the width of a space (so × as two spaces, → as three), which the boxes' margins absorb, and dot says
# so on stderr, once per byte value. That note is expected for the book's labels and is not for the reader.
WIDTH_NOTE = re.compile(r'^(Warning: )+no value for width of non-ASCII character \d+\. '
                        r'Falling back to width of space character$')


# In a LaTeX build (book/_ext/paper.py sets MICROGPT_FIGURES=pdf for its kernels) a graph is also drawn as vectors:
# dot's SVG turned into PDF by librsvg's rsvg-convert (Debian's librsvg2-bin), with the fonts dot measured its labels
# in mapped to their free look-alikes (Debian's fonts-freefont-otf, which the PDF uses too).
FIGURES_VARIABLE = 'MICROGPT_FIGURES'
SVG_FONTS = {'Helvetica,sans-Serif': 'FreeSans', 'Arial,sans-Serif': 'FreeSans', 'Times,serif': 'FreeSerif',
             'Courier,monospace': 'FreeMono'}


def run_dot(graph, output):
    """What dot writes for the graph in the format output; see png() for what it says on stderr."""
    done = subprocess.run(['dot', f'-K{graph.engine}', f'-T{output}'], input=graph.source.encode(graph.encoding),
                          capture_output=True)
    said = [line for line in done.stderr.decode(errors='replace').splitlines()
            if line.strip() and not WIDTH_NOTE.match(line.strip())]
    if done.returncode != 0:
        raise RuntimeError(f'dot failed (exit status {done.returncode}) on the graph: ' + '\n'.join(said))
    if said:
        print('\n'.join(said), file=sys.stderr)
    return done.stdout


def svg_to_pdf(svg):
    """The PDF of an SVG of dot's, its fonts mapped (SVG_FONTS), by rsvg-convert."""
    text = svg.decode('utf-8')
    for family, free in SVG_FONTS.items():
        text = text.replace(f'font-family="{family}"', f'font-family="{free}"')
    try:
        done = subprocess.run(['rsvg-convert', '--format=pdf'], input=text.encode('utf-8'), capture_output=True)
    except FileNotFoundError:
        raise RuntimeError('the PDF needs rsvg-convert for its graph figures: install Debian\'s librsvg2-bin '
                           '(.ci/packages does)') from None
    if done.returncode != 0:
        raise RuntimeError('rsvg-convert failed on a graph: ' + done.stderr.decode(errors='replace'))
    return done.stdout


class Drawing:
    """A graph drawn by dot, as a cell shows it: the PNG, and in a LaTeX build the PDF too (the LaTeX output takes
    the PDF, the HTML and the EPUB the PNG)."""

    def __init__(self, data, pdf=None):
        self.data, self.pdf = data, pdf   # data: the PNG's bytes (as IPython's Image names them)

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64
        bundle = {'image/png': base64.b64encode(self.data).decode('ascii')}
        if self.pdf:
            bundle['application/pdf'] = base64.b64encode(self.pdf).decode('ascii')
        return bundle


def png(graph):
    """A graphviz.Graph or Digraph drawn by dot as the image a cell shows (a Drawing: PNG, and PDF in a LaTeX build).

    Every graph figure of the book is drawn here. dot's note on the widths of non-ASCII characters (WIDTH_NOTE)
    is dropped; anything else dot writes goes to stderr as it is, where the build's check (book/_ext/no_stderr.py)
    fails the page; a dot that fails raises with what it said."""
    pdf = svg_to_pdf(run_dot(graph, 'svg')) if os.environ.get(FIGURES_VARIABLE) == 'pdf' else None
    return Drawing(run_dot(graph, 'png'), pdf)
