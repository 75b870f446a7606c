"""Benchmarks of the program and of the book build; `make bench` runs this and prints every figure.

Not a test (pytest does not collect it): timings depend on the machine, so they are measured and
printed here, with the commands that produced them, rather than asserted.

    python tests/bench.py            everything (about a quarter of an hour on 2 cores)
    python tests/bench.py --quick    skip the two full 1000-step runs of microgpt.py
    python tests/bench.py --tangle   only tangle.py on large generated books (10,000 chunks; an edit in each of
                                     600 and 2,400 chunks; TOCs of 2,000 and 8,000 pages)
    python tests/bench.py --inpage   only the in-page Python (needs _build/html from make book, chromium, node): the
                                     start-up, a training step, and for every page the slowest first output of its
                                     cells (Run to the first thing the cell shows, the cells run in order)
    python tests/bench.py --build    only the cold and warm HTML builds and the runs they train (CPU seconds each)
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import tangle  # noqa: E402

PYTHON = sys.executable
JUPYTER_BOOK = str(Path(PYTHON).parent / 'jupyter-book')
FULL_STEPS = 'num_steps = 1000\n'
# The usual first way to write backward(): a recursive helper that refers to itself, which makes
# every step's graph a reference cycle, with Python's cyclic garbage collector left on.
STRAIGHTFORWARD_BACKWARD = '''\
    def backward(self):
        order, seen = [], set()
        def visit(node):
            if node not in seen:
                seen.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            for child, local_grad in zip(node._children, node._local_grads):
                child.grad += local_grad * node.grad

'''


def say(label, value, command):
    """Print one figure with the command that measured it."""
    print(f'{label:<58} {value:>14}   $ {command}', flush=True)


def timed(command, cwd=None, env=None):
    """Wall seconds of one command, which must succeed; if it fails, its last output says why."""
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f'{" ".join(map(str, command))} failed after {seconds:.0f} s (exit {done.returncode}):\n'
                 f'{done.stdout[-6000:]}\n{done.stderr[-6000:]}')
    return seconds


def variant(folder, name, steps=None, straightforward=False):
    """Write microgpt.py (optionally with fewer steps, or the straightforward backward) into folder."""
    source = (REPO / 'microgpt.py').read_text(encoding='utf-8')
    if steps is not None:
        assert source.count(FULL_STEPS) == 1
        source = source.replace(FULL_STEPS, f'num_steps = {steps}\n')
    if straightforward:
        book = tangle.read_book(REPO)
        chunk = book.chunk('backward')
        original = ''.join(line + '\n' for line in chunk.lines)
        assert source.count(original) == 1
        source = source.replace(original, STRAIGHTFORWARD_BACKWARD).replace('gc.disable()', 'gc.enable()')
    (folder / name).write_text(source, encoding='utf-8')
    return name


def big_book(folder, chunks, chapters):
    """A generated book of `chunks` one-line chunks spread evenly over `chapters` chapters; returns folder."""
    return generated_book(folder, chunks, chapters,
                          lambda c, k: f'Prose before chunk {k}.\n\n```{{chunk}} c{c}-k{k}\nv_{c}_{k} = {k}\n```\n')


def generated_book(folder, chunks, chapters, chunk_text):
    """A book of `chapters` chapters c0.md..., each holding chunks // chapters chunks chunk_text(chapter, k)."""
    folder.mkdir(parents=True)
    per = chunks // chapters
    toc = ['format: jb-book', 'root: index', 'chapters:'] + [f'- file: c{i}' for i in range(chapters)]
    (folder / '_toc.yml').write_text('\n'.join(toc) + '\n', encoding='utf-8')
    (folder / 'index.md').write_text('# Home\n', encoding='utf-8')
    for c in range(chapters):
        parts = [f'# Chapter {c}\n'] + [chunk_text(c, k) for k in range(per)]
        (folder / f'c{c}.md').write_text('\n'.join(parts), encoding='utf-8')
    return folder


def bench_tangle(tmp):
    """tangle, --check and --stitch (one edited line) on 10,000 chunks in one chapter and in 100: linear time."""
    for chapters in (1, 100):
        root = big_book(Path(tmp) / f'big{chapters}', 10_000, chapters)
        tangle_s = timed([PYTHON, str(REPO / 'tangle.py'), '--root', str(root)])
        check_s = timed([PYTHON, str(REPO / 'tangle.py'), '--root', str(root), '--check'])
        program = root / 'microgpt.py'
        lines = program.read_text(encoding='utf-8').splitlines()
        lines[len(lines) // 2] += '  # edited'
        program.write_text('\n'.join(lines) + '\n', encoding='utf-8')
        stitch_s = timed([PYTHON, str(REPO / 'tangle.py'), '--root', str(root), '--stitch'])
        where = 'one chapter' if chapters == 1 else f'{chapters} chapters'
        say(f'10,000 chunks in {where}: tangle / --check / --stitch', f'{tangle_s:.1f} / {check_s:.1f} / {stitch_s:.1f} s',
            f'python tangle.py --root big{chapters} [--check | --stitch]')


def edited_book(folder, chunks, chapters=20):
    """A generated book of `chunks` three-line chunks over `chapters` chapters, tangled and synced, and its
    microgpt.py with the middle line of every chunk edited; returns folder."""
    generated_book(folder, chunks, chapters,
                   lambda c, k: f'```{{chunk}} c{c}-k{k}\na_{c}_{k} = {k}\nb_{c}_{k} = {k}\nc_{c}_{k} = {k}\n```\n')
    subprocess.run([PYTHON, str(REPO / 'tangle.py'), '--root', str(folder)], check=True, stdout=subprocess.DEVNULL)
    program = folder / 'microgpt.py'
    lines = program.read_text(encoding='utf-8').splitlines()
    lines[1::3] = [line + '  # edited' for line in lines[1::3]]
    program.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return folder


def deep_toc_book(folder, pages):
    """A generated book of `pages` one-line pages, every one listed in _toc.yml; returns folder."""
    folder.mkdir(parents=True)
    toc = ['format: jb-book', 'root: index', 'chapters:'] + [f'- file: p{i}' for i in range(pages)]
    (folder / '_toc.yml').write_text('\n'.join(toc) + '\n', encoding='utf-8')
    (folder / 'index.md').write_text('# Home\n\n```{chunk} first\nx = 1\n```\n', encoding='utf-8')
    for i in range(pages):
        (folder / f'p{i}.md').write_text(f'# Page {i}\n', encoding='utf-8')
    return folder


def cpu(command):
    """CPU seconds (user + system) of one command in a child process, which must succeed."""
    before = os.times()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = os.times()
    return after.children_user - before.children_user + after.children_system - before.children_system


def bench_linear(tmp):
    """--stitch with an edit in every chunk (600 and 2,400 chunks), and --check on a TOC of 2,000 and 8,000
    pages: each fourfold size should cost about four times the CPU, not sixteen."""
    for chunks in (600, 2400):
        root = edited_book(Path(tmp) / f'edited{chunks}', chunks)
        seconds = cpu([PYTHON, str(REPO / 'tangle.py'), '--root', str(root), '--stitch'])
        say(f'--stitch, an edit in each of {chunks:,} chunks', f'{seconds:.1f} s CPU',
            f'python tangle.py --root edited{chunks} --stitch')
    for pages in (2000, 8000):
        root = deep_toc_book(Path(tmp) / f'toc{pages}', pages)
        seconds = cpu([PYTHON, str(REPO / 'tangle.py'), '--root', str(root), '--force'])
        say(f'tangle, a TOC of {pages:,} pages', f'{seconds:.1f} s CPU', f'python tangle.py --root toc{pages}')


def bench_inpage(per_step):
    """The book's cells in chromium (tests/inpage/drive.js on _build/html): start-up, training step, 20 names."""
    import json
    site, chromium = REPO / '_build' / 'html', os.environ.get('CHROMIUM', '/usr/bin/chromium')
    if not (site / '_inpage' / 'pyodide').is_dir() or not Path(chromium).is_file() or not shutil.which('node'):
        print('in-page Python: skipped (needs make inpage, make book, chromium and node)', flush=True)
        return
    subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=REPO / 'tests' / 'inpage', check=True,
                   env={**os.environ, 'PUPPETEER_SKIP_DOWNLOAD': '1'})

    def drive(*args):
        done = subprocess.run(['node', 'tests/inpage/drive.js', str(site), *args], cwd=REPO, check=True,
                              capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])['result']
    for page in ('book/02-autograd/01-why-derivatives.html', 'book/02-autograd/03-the-value-class.html'):
        runs = [drive('bench', page) for _ in range(3)]
        say(f'in page: {page.split("/")[-1]}: Run to first output, cold / warm cache; start-up',
            f'{statistics.median(r["cold"] for r in runs):.1f} / {statistics.median(r["seconds"] for r in runs):.1f}; '
            f'{statistics.median(r["startup"] for r in runs):.1f} s',
            f'node tests/inpage/drive.js _build/html bench {page}  (fresh page, warm cache, median of 3)')
    # every page: its cells run in order, each on its Run button, on a fresh page (after one page has warmed the cache)
    import re
    order = re.findall(r'file: (\S+)', (REPO / '_toc.yml').read_text(encoding='utf-8'))
    pages = [f'{d}.html' for d in order if (site / '_inpage' / 'cells' / f'{d}.json').is_file() and any(
        c['input'] and c['shown'] and not c['jupyter_only']
        for c in json.loads((site / '_inpage' / 'cells' / f'{d}.json').read_text(encoding='utf-8'))['cells'])]
    began = time.perf_counter()
    ran = drive('pages', pages[0], *pages)[1:]
    slowest = []
    for page in ran:
        firsts = [(cell['first'], cell['n'] + 1) for cell in page['cells']]
        seconds, number = max(firsts)
        slowest.append(seconds)
        say(f'in page: {page["page"][5:-5]}: slowest first output', f'{seconds:.1f} s (cell {number})',
            'Run to the cell\'s first output, its cells run in order (warm cache)')
    say(f'in page: every cell of {len(ran)} pages: slowest first output', f'{max(slowest):.1f} s',
        f'node tests/inpage/drive.js _build/html pages ...  ({time.perf_counter() - began:.0f} s in all)')
    played = drive('playground', '30')
    browser_step = played['perStep']
    say('in page: seconds per training step (30 steps)', f'{browser_step:.3f} s', 'node tests/inpage/drive.js _build/html playground 30')
    if per_step:
        say('  ratio, in page / CPython', f'{browser_step / per_step:.2f}', '')
    say('in page: 20 names at T = 0.5 (first press / again)', f'{played["firstNames"]:.2f} / {played["namesAgain"]:.2f} s',
        'the playground\'s "Invent names": the first press starts Python and loads the model')


def bench_runs(copy, data):
    """Each run the cold build trained (the program and every variant of runtime.VARIANTS): its CPU seconds
    and wall seconds (the build trains runtime.PARALLEL_RUNS at a time, beside its own pages), from the cache."""
    import json
    import runtime
    cache = copy / '_build' / 'microgpt-run'
    runs = {}
    for name in (None, *runtime.VARIANTS):  # read from the cache the build wrote (the same names data)
        path = runtime.cache_path('run', name, copy, data)
        if path.exists():
            runs[name or 'the program'] = json.loads(path.read_text(encoding='utf-8'))
    for name, run in runs.items():
        say(f'  run of {name}: CPU / wall', f"{run['cpu_seconds']:.0f} / {run['seconds']:.0f} s",
            f'cpu_seconds, seconds in {cache.relative_to(copy)}/run-*.json')
    if runs:
        say('  all runs together, CPU', f"{sum(r['cpu_seconds'] for r in runs.values()):.0f} s", '')


def cpython_per_step(run_dir):
    """Seconds per training step: (30 steps) - (0 steps), both with the same start-up and sampling."""
    short, none = variant(run_dir, 'steps30.py', 30), variant(run_dir, 'steps0.py', 0)
    return statistics.median((timed([PYTHON, short], run_dir) - timed([PYTHON, none], run_dir)) / 30 for _ in range(3))


def main():
    quick = '--quick' in sys.argv
    if '--inpage' in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp)
            (run_dir / 'input.txt').symlink_to(tangle.names_file(REPO))
            per_step = cpython_per_step(run_dir)
            say('microgpt.py seconds per training step (median of 3)', f'{per_step:.3f} s', 'python microgpt.py, 30 steps minus 0')
            bench_inpage(per_step)
        return
    if '--tangle' in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            bench_tangle(tmp)
            bench_linear(tmp)
        return
    data = tangle.names_file(REPO)
    if data is None:
        sys.exit('bench: no names file: set MICROGPT_NAMES')
    print(f'machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, names from {data}')
    with tempfile.TemporaryDirectory() as tmp:
        if '--build' in sys.argv:
            bench_builds(tmp, data)
            return
        run_dir = Path(tmp) / 'run'
        run_dir.mkdir()
        (run_dir / 'input.txt').symlink_to(data)

        # seconds per training step: (30 steps) - (0 steps), both with the same start-up and sampling
        per_step = cpython_per_step(run_dir)
        say('microgpt.py seconds per training step (median of 3)', f'{per_step:.3f} s',
            f'cd {run_dir.name} && python microgpt.py with num_steps 30, minus num_steps 0')

        if not quick:  # the full run, ours and the straightforward version, interleaved
            ours = variant(run_dir, 'microgpt.py')
            straight = variant(run_dir, 'straightforward.py', straightforward=True)
            slow, fast = timed([PYTHON, straight], run_dir), timed([PYTHON, ours], run_dir)
            say('microgpt.py full 1000-step run, wall time', f'{fast:.1f} s', 'python microgpt.py')
            say('straightforward version (recursive backward, gc on)', f'{slow:.1f} s', 'python straightforward.py')
            say('  ratio, ours / straightforward', f'{fast / slow:.2f}', '')

        bench_inpage(per_step)

        check = statistics.median(timed([PYTHON, 'tangle.py', '--check'], REPO) for _ in range(3))
        say('tangle.py --check (median of 3)', f'{check:.2f} s', 'python tangle.py --check')
        bench_tangle(tmp)
        bench_linear(tmp)
        bench_builds(tmp, data)


def bench_builds(tmp, data):
    """Cold and warm book builds, in a copy of the repository: nothing cached, then one edit."""
    copy = Path(tmp) / 'book'
    files = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for rel in files.split():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, copy / rel)
    env = {**os.environ, tangle.DATA_ENV: str(data)}
    build = [JUPYTER_BOOK, 'build', '.', '-W', '-n', '--keep-going']
    cold = timed(build, copy, env)
    say('cold HTML build (trains every run once)', f'{cold:.1f} s', 'jupyter-book build . -W -n --keep-going')
    bench_runs(copy, data)
    lesson = copy / 'book' / '00-big-picture' / '01-inventing-names.md'
    lesson.write_text(lesson.read_text(encoding='utf-8') + '\nOne more paragraph, to rebuild.\n', encoding='utf-8')
    warm = timed(build, copy, env)
    say('warm rebuild after a one-paragraph edit', f'{warm:.1f} s', 'the same, after editing one lesson')
    say('  ratio, warm / cold', f'{warm / cold:.2f}', '')
    log = copy / '_build' / 'microgpt-run' / 'trainings.log'
    trainings = len(log.read_text().splitlines()) if log.exists() else 0
    say('training runs in the cold and warm builds together', str(trainings), f'wc -l {log.relative_to(copy)}')
    if log.exists():
        print(log.read_text(encoding='utf-8'), end='', flush=True)


if __name__ == '__main__':
    main()
