"""The book's cells run in the reader's browser (book/_ext/inpage.py), checked in Debian's chromium.

tests/inpage/drive.js (puppeteer-core, pinned in tests/inpage/package-lock.json, no browser download) serves
the built book on 127.0.0.1 and presses the buttons. The book is the session's HTML build (conftest.py) when
it has the in-page runtime, else a build of its own. Without chromium, Node.js or the Pyodide package
(make inpage) these tests skip with a reason; under CI (CI=true) they fail instead.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tangle

REPO = Path(__file__).resolve().parent.parent
DRIVER = REPO / 'tests' / 'inpage'
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
# Five lessons from five modules, for the tests that need one page or a few.
PAGES = ['book/01-data/03-start-and-end.html', 'book/02-autograd/03-the-value-class.html',
         'book/03-architecture/03-softmax.html', 'book/04-training/02-loss.html',
         'book/05-inference/02-temperature.html']


def missing():
    """What these tests need and this machine lacks."""
    needed = [] if Path(CHROMIUM).is_file() else [CHROMIUM]
    needed += [tool for tool in ('node', 'npm') if not shutil.which(tool)]
    if not (REPO / 'book' / '_ext' / 'inpage' / 'node_modules' / 'pyodide' / 'pyodide.asm.wasm').is_file() and shutil.which('npm'):
        subprocess.run(['make', 'inpage'], cwd=REPO, check=True, capture_output=True)
    if not (REPO / 'book' / '_ext' / 'inpage' / 'node_modules' / 'pyodide').is_dir():
        needed.append('Pyodide (make inpage)')
    return needed


@pytest.fixture(scope='module')
def site(request, tmp_path_factory):
    """The session's HTML build (conftest.py) when it has the in-page runtime (.ci/run installs Pyodide before the
    tests), else a build of its own, made after `make inpage` installed it."""
    needed = missing()
    if needed:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI must run the in-page tests, but {", ".join(needed)} is missing: .ci/run installs it')
        pytest.skip(f'no {", ".join(needed)} here: the in-page tests need chromium, Node.js and npm')
    subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=DRIVER, check=True,
                   env={**os.environ, 'PUPPETEER_SKIP_DOWNLOAD': '1'})
    done, built = request.getfixturevalue('html_build')
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if not (built / '_inpage' / 'pyodide' / 'pyodide.asm.wasm').is_file():
        out = tmp_path_factory.mktemp('inpage-book')
        done = subprocess.run([str(Path(sys.executable).parent / 'jupyter-book'), 'build', str(REPO),
                               '--path-output', str(out), '-W', '-n', '--keep-going'],
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        built = out / '_build' / 'html'
    return built


def drive(site, *args, timeout=1800, isolate=False):
    """drive.js's answer; with isolate, the site is served with the cross-origin isolation headers make serve sends."""
    env = {**os.environ, 'DRIVE_ISOLATE': '1' if isolate else ''}
    done = subprocess.run(['node', str(DRIVER / 'drive.js'), str(site), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert not answer['external'], f'requests to other hosts: {answer["external"][:5]}'
    assert not answer['errors'], answer['errors'][:5]
    return answer['result']


def fidelity_exceptions():
    """The unedited cells whose output in the page may differ from the build's, as the README lists them (its section
    "Running the book in the page"): {(page, cell number on the page, from 1): why}."""
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    found = {}
    for page, numbers, why in re.findall(r'^- `(book/[\w/-]+)`, cells? ([\d, and]+): (.+)$', readme, re.M):
        for number in re.findall(r'\d+', numbers):
            found[page, int(number)] = why
    return found


def run_pages(site):
    """Every page with a Run button, in book order (the pages the build wrote a list of cells for)."""
    order = [line.split('file:')[1].strip() for line in (REPO / '_toc.yml').read_text(encoding='utf-8').splitlines()
             if 'file:' in line]
    pages = []
    for docname in order:
        listed = site / '_inpage' / 'cells' / f'{docname}.json'
        if listed.is_file() and any(c['input'] and c['shown'] and not c['jupyter_only']
                                    for c in json.loads(listed.read_text(encoding='utf-8'))['cells']):
            pages.append(f'{docname}.html')
    return pages


def printed_in_build(site, name):
    """What each cell of the page with a Run button printed in the build, as the executed notebook holds it (None for a
    cell that also showed something else): the page shows as one block what the kernel may have sent in pieces, and the
    build shows each piece as a block of its own (a piece that is a bare line break: an empty line)."""
    notebook = json.loads((site.parent / 'jupyter_execute' / f'{name}.ipynb').read_text(encoding='utf-8'))
    listed = json.loads((site / '_inpage' / 'cells' / f'{name}.json').read_text(encoding='utf-8'))['cells']
    code = [cell for cell in notebook['cells'] if cell['cell_type'] == 'code']
    assert len(code) == len(listed), name
    printed = []
    for cell, seen in zip(code, listed):
        if seen['input'] and seen['shown'] and not seen['jupyter_only']:
            outputs = cell.get('outputs', [])
            streams = all(o['output_type'] == 'stream' and o['name'] == 'stdout' for o in outputs)
            printed.append(''.join(''.join(o['text']) for o in outputs) if streams and outputs else None)
    return printed


def test_every_unedited_cell_of_every_page_runs_in_the_page_and_prints_what_the_build_printed(site):
    """Each page's cells run in order, each on its Run button, in one browser: every one ends, no hidden cell it needs
    fails, and each prints what the build printed, character for character (a traceback as Jupyter shows it), but for
    the README's named exceptions."""
    pages = run_pages(site)
    assert len(pages) >= 30 and PAGES[0] in pages
    exceptions = fidelity_exceptions()
    assert exceptions and {page for page, _ in exceptions} <= {p[:-len('.html')] for p in pages}
    compared = 0
    for page in drive(site, 'pages', *pages, timeout=3600):
        name = page['page'][:-len('.html')]
        printed = printed_in_build(site, name)
        for cell in page['cells']:
            where = f"{name} cell {cell['n'] + 1}"
            assert cell['state'] == 'done', (where, cell['status'])
            assert not cell['note'], (where, cell['note'])  # every hidden cell it needs ran too
            if (name, cell['n'] + 1) in exceptions:
                assert cell['got'], where
                continue
            if cell['got'] != cell['static']:  # the same printing, which the build showed in pieces
                assert printed[cell['n']] is not None and len(cell['got']) == 1, (where, cell['got'], cell['static'])
                assert cell['got'][0].strip('\n') == printed[cell['n']].strip('\n'), where
            compared += 1
        assert all((name, n) not in exceptions for n in range(len(page['cells']) + 1, 200)), name  # no stale number
    assert compared >= 150


def test_an_edited_cell_prints_its_new_output_and_reset_puts_the_book_back(site):
    done = drive(site, 'edit', PAGES[1], 0, 'a, b = 2.0, -3.0\nc = a * b * 7\nprint(c, "edited")\n1 / 0')
    assert done['edited'][0] == '-42.0 edited\n', done
    assert 'Traceback (most recent call last)' in done['edited'][1] and 'ZeroDivisionError' in done['edited'][1]
    assert done['edited'][1].startswith('-' * 75) and '----> 4 1 / 0' in done['edited'][1]  # as Jupyter shows it
    assert done['reset'] == done['before'] and done['editorGone']


def test_from_a_file_address_the_run_button_says_to_serve_the_book(site):
    message = drive(site, 'file', PAGES[0])['message']
    assert 'make serve' in message and 'file://' in message


@pytest.mark.parametrize('isolate', [True, False], ids=['interrupt', 'fresh-python'])
def test_stop_ends_a_runaway_cell_and_every_other_run_button_works_after(site, isolate):
    """`while True: pass` typed in a cell and run with Shift+Enter: it shows Stop; a cell pressed meanwhile says it is
    waiting; Stop ends it within seconds, by KeyboardInterrupt where the page is cross-origin isolated (make serve),
    else by starting Python afresh; the waiting cell is not run and says so; another cell then runs and prints the
    book's output. The time limit (shortened to a second) asks, and unanswered stops the cell; Reset says what it
    keeps, and the cell then prints the book's output again."""
    done = drive(site, 'stop', PAGES[1], isolate=isolate)
    assert done['mode'] == ('interrupt' if isolate else 'restart')
    assert done['running']['stopShown'] and done['running']['runDisabled'] and done['running']['status'] == 'Running…'
    assert done['waiting']['state'] == 'waiting' and done['waiting']['status'].startswith('Waiting: cell ')
    assert done['waiting']['stopShown']
    assert done['stopSeconds'] < 5, done['stopSeconds']
    stopped = done['stopped']
    assert stopped['state'] == 'stopped' and stopped['status'].startswith('Stopped after ') and not stopped['stopShown']
    assert stopped['how'] == ('interrupted' if isolate else 'restarted')
    if isolate:  # as Jupyter shows an interrupted cell
        assert done['stoppedOutput'][-1].rstrip(': \n').endswith('KeyboardInterrupt'), done['stoppedOutput']
        assert 'is kept' in stopped['status']
    else:
        assert 'started afresh' in stopped['status'] and 'is gone' in stopped['status']
    assert done['notRun']['state'] == 'stopped' and done['notRun']['status'].startswith('Not run: Stop was pressed')
    assert done['first']['state'] == 'done' and done['firstOutput'] == done['book']['first']
    assert 'Keep going' in done['asked']['question'] and done['asked']['state'] == 'running'
    assert done['unanswered']['state'] == 'stopped' and 'no answer' in done['unanswered']['status']
    assert done['unanswered']['seconds'] < 30
    assert "book's again" in done['reset']['status'] and 'kept' in done['reset']['status']
    assert done['again']['state'] == 'done' and done['lastOutput'] == done['book']['last']


def test_long_output_is_cut_and_input_and_a_missing_module_get_a_plain_sentence(site):
    """5,000 printed lines show 2,000 and a "show all" button that shows the 5,000; input() and `import numpy` end
    in a sentence that says what the page cannot do, with no advice that cannot work here (micropip)."""
    done = drive(site, 'limits', PAGES[1])
    long = done['long']
    assert long['run']['state'] == 'done' and long['shownLines'] == 2000 and long['allLines'] == 5000
    assert 'first 2,000 of 5,000 lines' in long['cut']
    typed = done['input']['output'][-1]
    assert 'no keyboard' in typed and 'EOFError' not in typed and 'Traceback (most recent call last)' in typed
    missing = done['numpy']['output'][-1]
    assert "No module named 'numpy'" in missing and 'Jupyter' in missing
    assert 'micropip' not in missing and 'loadPackage' not in missing


def test_the_playground_refuses_each_bad_field_beside_it_and_stops_a_long_sampling(site):
    """Temperature 0, -1 and 1e9, 2.5 and 100,000 names, letters the model lacks, "your own model" before any training
    and 10,000,000 steps: each gets a message beside its field, the button does nothing but say so, and the names of
    an earlier request are cleared. A long sampling stops within seconds, and the next one works. At 400 px wide the
    page does not overflow sideways."""
    done = drive(site, 'validate')
    assert done['namesBefore'] == 20
    for selector, tries in done['fields'].items():
        *bad, good = tries
        for one in bad:
            assert one['message'].startswith('Type ') and one['invalid'] == 'true', (selector, one)
            assert one['status'] == 'Not done: see the message beside the field.' and one['names'] == 0, (selector, one)
        assert good['message'] == '', selector
    assert len(done['fields']) == 3
    assert 'no model of your own' in done['own']['message'] and done['own']['status'].startswith('Not done')
    assert '1,000' in done['steps']['message'] and done['steps']['status'].startswith('Not started')
    assert done['steps']['good'] == ''
    stopped = done['stopped']
    assert stopped['stopEnabled'] and stopped['status'].startswith('Stopped') and stopped['seconds'] < 5
    assert stopped['buttonsBack']  # its Stop is disabled again: nothing runs
    assert done['after']['status'].startswith('Done') and done['after']['names'] == 3
    assert done['narrow']['scrollWidth'] <= done['narrow']['width'], done['narrow']


def test_pages_log_no_error_and_have_a_favicon_and_a_skip_link(site):
    """A lesson (its first cell run), the landing page and the playground (names invented): no console error, no page
    error, no failed request (the favicon is served); the first Tab reaches "Skip to main content". The built pages
    carry none of sphinx-thebe's scripts and the colour-mode script once."""
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    pages = [PAGES[0], 'book/index.html', 'book/appendix/playground.html']
    for name, seen in drive(site, 'console', *pages).items():
        assert seen['log'] == [], (name, seen['log'])
        assert seen['icon'] and seen['icon'].endswith('/_static/favicon.svg'), name
        assert seen['firstTab']['text'] == 'Skip to main content' and seen['firstTab']['href'] == '#main-content', name
        html = (site / name).read_text(encoding='utf-8')
        assert 'thebe' not in html.lower() and html.count(inpage.FIRST_MODE) == 1, name
    assert (site / '_static' / 'favicon.svg').read_bytes() == inpage.FAVICON.read_bytes()


HELDOUT_SHOWN = 50  # the playground's held-out loss is on the first this many of the book's held-out names


def cpython_run(steps, variant=None):
    """The losses the program (with the variant's change) prints in CPython for `steps` steps (its learning rate
    falling over them), as the playground trains it; and, as the playground's table shows it, the mean loss of the
    weights it ends with on the first HELDOUT_SHOWN of the book's held-out names that this run did not train on, to
    four decimals."""
    m = tangle.load('adam', variant=variant)
    m.num_steps = steps
    losses = []
    for step in range(steps):
        loss = m.name_loss(m.docs[step % len(m.docs)])
        loss.backward()
        m.adam_step(step)
        losses.append(f'{loss.data:.4f}')
    trained_on = set(m.docs[:steps])
    names = [n for n in tangle.trained_run()['heldout_names'] if n not in trained_on][:HELDOUT_SHOWN]
    assert len(names) == HELDOUT_SHOWN
    held = [m.name_loss(n).data for n in names]
    return losses, f'{sum(held) / len(held):.4f}'


def cpython_losses(steps, variant=None):
    """The losses alone of cpython_run."""
    return cpython_run(steps, variant)[0]


def test_the_playground_invents_the_books_names_and_trains_as_cpython_does(site):
    done = drive(site, 'playground', 20)
    assert done['names'] == tangle.trained_run()['samples']
    assert done['explainRows'] >= 2
    losses, heldout = cpython_run(20)
    assert done['losses'] == losses
    assert done['heldout'] == heldout  # the held-out loss the page shows: CPython's, for the same weights


def mean_of_last(losses, count=100):
    """The playground's table: the mean of a run's last `count` losses (as printed), to four decimals."""
    tail = [float(loss) for loss in losses[-count:]]
    return f'{sum(tail) / len(tail):.4f}'


def test_the_playgrounds_switches_train_the_books_variants_and_two_runs_share_one_chart(site):
    """MLP off, then plain descent at a typed learning rate and another seed: each run prints exactly the losses
    of tangle.load('adam', variant=...) in CPython; both runs are drawn and tabled, labelled by their switches; a
    third run replaces the older; a refused learning rate and the refused combinations say why beside the field."""
    done = drive(site, 'switches', 20)
    plain = [tangle.runtime.plain_descent(0.1), tangle.runtime.seed(1)]
    runs = [cpython_run(20, 'no-mlp'), cpython_run(20, plain), cpython_run(2)]
    expected, heldout = [losses for losses, _ in runs], [held for _, held in runs]
    assert done['losses'] == expected
    labels = ['no MLP, seed 42', 'plain descent, lr 0.1, seed 1', 'the program, seed 42']
    one, two, three = done['afterOne'], done['afterTwo'], done['afterThree']
    # each row: the run, its switches, its steps, its held-out loss (CPython's for the same weights), its mean training
    # loss over the last 100 steps, its seconds a step
    assert one['rows'] == [['A', labels[0], '20', heldout[0], mean_of_last(expected[0]), one['rows'][0][5]]]
    assert one['curves'] == 1 and one['pixels'][0] > 100 and one['pixels'][1] == 0
    assert [row[:5] for row in two['rows']] == [['A', labels[0], '20', heldout[0], mean_of_last(expected[0])],
                                                ['B', labels[1], '20', heldout[1], mean_of_last(expected[1])]]
    assert heldout[0] != heldout[1] and 'held-out loss' in two['caption'] and 'held-out loss' in two['description']
    assert two['curves'] == 2 and min(two['pixels']) > 100  # both drawn, each in its own colour
    assert ['dashed' in two['legend'][0] and labels[0] in two['legend'][0], 'solid' in two['legend'][1]] == [True, True]
    assert labels[0] in two['description'] and labels[1] in two['description']
    assert 'would take about' in two['timing'] and '1,000 steps' in two['timing']
    assert [row[:4] for row in three['rows']] == [['A', labels[1], '20', heldout[1]], ['B', labels[2], '2', heldout[2]]]
    assert 'greater than 0' in done['refusedRate'] and done['notStarted'].startswith('Not started')
    for second, still_on, first_on, message in done['refusals']:
        assert still_on and not first_on and message.startswith('Refused'), (second, message)


def page_runtime():
    """book/_ext/inpage/pagert.py, imported here without keeping its stand-ins for myst_nb and IPython.display."""
    saved = {name: sys.modules.get(name) for name in ('myst_nb', 'IPython', 'IPython.display')}
    ipython_display = getattr(saved['IPython'], 'display', None)
    sys.path.insert(0, str(REPO / 'book' / '_ext' / 'inpage'))
    try:
        import pagert
    finally:
        sys.path.remove(str(REPO / 'book' / '_ext' / 'inpage'))
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if saved['IPython'] is not None and ipython_display is not None:
            saved['IPython'].display = ipython_display
    return pagert


def test_the_playgrounds_clashes_are_the_combinations_the_runtime_refuses():
    """pagert.run_variant refuses exactly the pairs of parts whose variants runtime.program cannot combine, and
    builds the variant and label of the others; a learning rate outside (0, MAX_LEARNING_RATE] is refused, and a
    run whose weights blow up stops with words instead of a traceback."""
    pagert = page_runtime()
    variant_of = {part: name for part, name, _ in pagert.PARTS}
    refused = set()
    for i, a in enumerate(variant_of):
        for b in list(variant_of)[i + 1:]:
            try:
                tangle.runtime.program([variant_of[a], variant_of[b]])
            except ValueError:
                refused.add((a, b))
    assert refused == set(pagert.CLASHES)
    for a, b in pagert.CLASHES:
        with pytest.raises(ValueError, match='cannot both be off'):
            pagert.run_variant({a: False, b: False, 'seed': 42})
    variant, label = pagert.run_variant({'norm': False, 'attention': False, 'optimizer': 'plain', 'lr': 0.3, 'seed': 7})
    assert label == 'no rmsnorm, no attention, plain descent, lr 0.3, seed 7'
    assert tangle.runtime.program(variant).text == tangle.runtime.program(
        ['no-rmsnorm', 'no-attention', 'sgd-0.3', tangle.runtime.seed(7)]).text
    assert pagert.run_variant({'seed': 42}) == ([tangle.runtime.seed(42)], 'the program, seed 42')
    assert tangle.runtime.program(pagert.run_variant({'seed': 42})[0]).text == tangle.read_book(REPO).text
    for lr in (0, -1, float('inf'), float('nan'), pagert.MAX_LEARNING_RATE * 2):
        with pytest.raises(ValueError, match='learning rate'):
            pagert.run_variant({'optimizer': 'plain', 'lr': lr, 'seed': 42})
    pagert.train_start(30, json.dumps({'optimizer': 'plain', 'lr': pagert.MAX_LEARNING_RATE, 'seed': 42}))
    with pytest.raises(ValueError, match='^Training stopped at step .* the learning rate is too large'):
        pagert.train_steps(30)  # the largest rate it takes blows the weights up: the page says so in words


def test_the_playgrounds_heldout_loss_is_the_programs_mean_loss_on_the_first_50_heldout_names():
    """pagert.train_heldout, run here in CPython on a short run of the program and of another seed, gives the mean
    name_loss of the run's final weights on the first 50 of the book's held-out names it did not train on, to four
    decimals, as cpython_run computes it; the page's JavaScript shows the same count."""
    pagert = page_runtime()
    assert pagert.HELDOUT_SHOWN == HELDOUT_SHOWN
    script = (REPO / 'book' / '_ext' / 'inpage' / 'static' / 'inpage.js').read_text(encoding='utf-8')
    assert f'const HELDOUT_SHOWN = {HELDOUT_SHOWN};' in script
    for switches, variant in (({'seed': 42}, None), ({'mlp': False, 'seed': 3}, ['no-mlp', tangle.runtime.seed(3)])):
        pagert.train_start(5, json.dumps(switches))
        assert len(json.loads(pagert.train_steps(5))) == 5
        shown = json.loads(pagert.train_heldout())
        assert shown['count'] == HELDOUT_SHOWN
        assert shown['loss'] == cpython_run(5, variant)[1]
    names = pagert.heldout_names(tangle.trained_run()['heldout_names'][:3])  # a run that trained on three of them
    assert names == tangle.trained_run()['heldout_names'][3:3 + HELDOUT_SHOWN]


def test_the_buttons_outputs_editor_and_playground_leave_axe_nothing_to_report(site):
    """axe-core (tests/a11y's pinned copy) after running a cell and opening its editor, and after explaining a
    name and training in the playground, in the light and the dark colour mode: no finding."""
    subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=REPO / 'tests' / 'a11y', check=True,
                   env={**os.environ, 'PUPPETEER_SKIP_DOWNLOAD': '1'})
    found = drive(site, 'axe', PAGES[4], 'book/appendix/playground.html')
    assert len(found) == 4 and not any(found.values()), found


# ---------------------------------------------------------------- without a browser

def test_the_page_runtime_cuts_printing_and_says_plainly_what_the_page_cannot_do(monkeypatch):
    """pagert.run_cell, run here in CPython: printing beyond KEPT_LINES is counted, not kept; input() and a missing
    module end in pagert's sentences, without pagert's own frames in the traceback; the playground's functions refuse
    what the page refuses (temperature, count, first letters, steps, "your own model" before training) in words, and
    the page's JavaScript has the same limits."""
    pagert = page_runtime()
    monkeypatch.setattr(pagert, 'KEPT_LINES', 50)
    printed = json.loads(pagert.run_cell('for i in range(120):\n    print(i)', 'cell 1'))
    assert printed[0] == ['stdout', ''.join(f'{i}\n' for i in range(50))]
    assert printed[1][0] == 'stderr' and '70 more lines were printed' in printed[1][1]
    typed = json.loads(pagert.run_cell('name = input("Your name? ")', 'In[2]'))[-1]
    assert typed[0] == 'error' and typed[1].endswith(f'OSError: {pagert.NO_KEYBOARD}\n')
    assert 'pagert' not in typed[1] and typed[1].count('Cell In[2], line 1') == 1 and 'File ' not in typed[1]
    missing = json.loads(pagert.run_cell('import numpy_not_here.linalg', 'cell 3'))[-1][1]
    assert missing.endswith('ModuleNotFoundError: ' + pagert.NO_MODULE.format(name='numpy_not_here') + '\n')
    pyodides = json.loads(pagert.run_cell(  # Pyodide's own wording (its import hook sets no name): the same sentence
        'raise ModuleNotFoundError("The module \'numpy\' is included in the Pyodide distribution, but it is not installed.")',
        'cell 4'))[-1][1]
    assert pyodides.endswith(pagert.NO_MODULE.format(name='numpy') + '\n') and 'micropip' not in pyodides
    for args in ((0, 20), (-1, 20), (1e9, 20), (0.5, 2.5), (0.5, 0), (0.5, pagert.MAX_NAMES + 1), (0.5, 3, 'm4'),
                 (0.5, 3, 'a' * 16)):
        with pytest.raises(ValueError):
            pagert.sample(*args)
    pagert._training.clear()
    with pytest.raises(ValueError, match='no model of your own'):
        pagert.sample(0.5, 3, '', True)
    for steps in (0, 2.5, pagert.MAX_STEPS + 1, 10_000_000):
        with pytest.raises(ValueError, match='steps'):
            pagert.train_start(steps)
    assert json.loads(pagert.sample(0.5, 20)) == tangle.trained_run()['samples']
    script = (REPO / 'book' / '_ext' / 'inpage' / 'static' / 'inpage.js').read_text(encoding='utf-8')
    assert f'const MAX_STEPS = {pagert.MAX_STEPS};' in script and f'const MAX_NAMES = {pagert.MAX_NAMES};' in script
    assert f'const TEMPERATURE = [{pagert.TEMPERATURE[0]}, {pagert.TEMPERATURE[1]}];' in script


def test_the_html_site_drops_sphinx_thebes_scripts_and_inline_scripts_listed_twice():
    """What inpage.on_site_page_context leaves of a page's scripts and stylesheets (the EPUB's are ebook.py's)."""
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript
    thebe = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const thebe_selector = ".thebe,.cell"'
    scripts = [_JavaScript('_static/doctools.js'), _JavaScript('', body=thebe), _JavaScript('_static/sphinx-thebe.js'),
               _JavaScript('', body=thebe), _JavaScript('', body=inpage.FIRST_MODE), _JavaScript('', body=inpage.FIRST_MODE),
               _JavaScript('_static/inpage.js')]
    styles = [_CascadingStyleSheet('_static/sphinx-thebe.css'), _CascadingStyleSheet('_static/inpage.css')]
    app = type('App', (), {'builder': type('B', (), {'name': 'html'})})
    context = {'script_files': scripts, 'css_files': styles}
    inpage.on_site_page_context(app, 'book/index', 'page.html', context, None)
    assert [(str(s.filename), s.attributes.get('body')) for s in context['script_files']] == [
        ('_static/doctools.js', None), ('', inpage.FIRST_MODE), ('_static/inpage.js', None)]
    assert [str(s.filename) for s in context['css_files']] == ['_static/inpage.css']
    epub = {'script_files': list(scripts)}
    inpage.on_site_page_context(type('App', (), {'builder': type('B', (), {'name': 'epub'})}), 'x', 'page.html', epub, None)
    assert epub['script_files'] == scripts  # the EPUB's pages are ebook.py's business
    assert inpage.FAVICON.is_file() and inpage.FAVICON.read_text(encoding='utf-8').startswith('<svg')



def test_the_page_gets_the_runtime_as_is_and_runs_the_program_as_the_build_does(tmp_path):
    """The page's tangle.py imports book/_ext/runtime.py, copied unchanged to its place in a checkout; run on the
    files the build writes beside the pages (and nothing else of the book), it reads them: the program's output,
    the trained run's samples, a variant's run, and a variant of the program."""
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    (tmp_path / 'tangle.py').write_text(inpage.PAGE_TANGLE, encoding='utf-8')
    (tmp_path / 'book' / '_ext').mkdir(parents=True)
    shutil.copyfile(inpage.RUNTIME, tmp_path / 'book' / '_ext' / 'runtime.py')
    data = tmp_path / '_inpage'
    data.mkdir()
    book = tangle.read_book(REPO)
    (data / 'book.json').write_text(json.dumps(inpage.book_json(book)), encoding='utf-8')
    (data / 'run.json').write_text(json.dumps(tangle.trained_run(REPO)), encoding='utf-8')
    (data / 'variants.json').write_text(json.dumps({'seed-1': {'heldout': 1.5}}), encoding='utf-8')
    shutil.copyfile(tangle.names_file(REPO), data / 'names.txt')
    script = ('import tangle, runtime; assert runtime.IN_PAGE; m = tangle.load("sample-names", trained=True); '
              'print(m.output); print(tangle.variant_run("seed-1")["heldout"]); '
              'print(tangle.load("parameters", variant=tangle.SECOND_BLOCK).n_layer)')
    done = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != 'MICROGPT_NAMES'})
    assert done.returncode == 0, done.stderr
    printed, held, layers = done.stdout.rsplit('\n', 3)[:3]
    assert printed.endswith(tangle.trained_run(REPO)['output'].split('\nsamples:')[1])
    assert done.stdout.startswith(tangle.load('adam').output)
    assert (held, layers) == ('1.5', '2')


def test_the_site_holds_the_runtime_byte_for_byte(site):
    """What the worker puts at /book/book/_ext/runtime.py is book/_ext/runtime.py itself, not a copy of parts."""
    shipped = site / '_inpage' / 'runtime.py'
    assert shipped.read_bytes() == (REPO / 'book' / '_ext' / 'runtime.py').read_bytes()
    files = json.loads((site / '_inpage' / 'files.json').read_text(encoding='utf-8'))
    assert ['runtime.py', '/book/book/_ext/runtime.py'] in files
    assert ['snapshots.json', '/book/_inpage/snapshots.json'] in files  # lesson 29 reads it, as the build does
    snapshots = json.loads((site / '_inpage' / 'snapshots.json').read_text(encoding='utf-8'))
    assert snapshots == tangle.snapshot_run(REPO)
    variants = json.loads((site / '_inpage' / 'variants.json').read_text(encoding='utf-8'))
    assert set(variants) == set(tangle.VARIANTS) and all('snapshots' not in run for run in variants.values())
    assert variants['no-rmsnorm']['state_dict'] == tangle.variant_run('no-rmsnorm')['state_dict']  # lesson 17 loads it


def test_cells_that_need_more_than_the_pages_python_say_they_run_only_in_jupyter():
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    cell = lambda source, outputs=(): {'source': source, 'outputs': list(outputs)}
    assert inpage.jupyter_only(cell('import matplotlib.pyplot as plt\n')) == 'it draws with matplotlib'
    assert inpage.jupyter_only(cell('import os, subprocess, sys\n')) == 'it starts other Python processes'
    assert inpage.jupyter_only(cell('x = 1', [{'data': {'image/png': ''}}])) == 'it draws a figure'
    assert inpage.jupyter_only(cell('print("subprocess")\nimport tangle\n')) == ''


def test_without_pyodide_in_the_teacher_edition_or_the_epub_the_pages_get_no_run_buttons(monkeypatch, tmp_path):
    """A machine with only Python builds the book all the same; the teacher edition stays as it was."""
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import inpage
    app = lambda name, edition: type('App', (), {'builder': type('B', (), {'name': name, 'format': 'html'}),
                                                'config': type('C', (), {'microgpt_edition': edition})})
    monkeypatch.setattr(inpage, 'PYODIDE', tmp_path / 'nothing')
    assert not inpage.enabled(app('html', 'student'))
    monkeypatch.setattr(inpage, 'PYODIDE', tmp_path)
    for name in inpage.CORE_FILES:
        (tmp_path / name).write_text('')
    assert inpage.enabled(app('html', 'student'))
    assert not inpage.enabled(app('html', 'teacher')) and not inpage.enabled(app('latex', 'student'))
    assert not inpage.enabled(app('epub', 'student'))  # the EPUB has no scripts


def test_a_run_runs_only_the_hidden_cells_that_the_cells_after_them_read():
    """pagert.plan: before a Run, every shown cell not yet run runs, and a hidden cell only if a cell that runs after it
    reads a name it binds or changes through a method; a hidden cell that draws random numbers always runs; a cell that
    ran already binds its names; a Jupyter-only cell never runs."""
    pagert = page_runtime()
    cells = [['import tangle\nmodel = tangle.load("adam")', False, False, False],  # read by the target: runs
             ['checked = model.num_steps\nassert checked == 1000  # claim', False, False, False],  # read by none
             ['import matplotlib.pyplot as plt\nops = 3', True, False, True],  # Jupyter-only: never
             ['glue("ops", ops, display=False)', False, False, False],  # reads ops, but nothing reads it
             ['history = []\nfor name in model.docs[:3]:\n    history.append(name)', False, False, False],
             ['history.append("x")  # changes history', False, False, False],
             ['import random\nrandom.seed(1)', False, False, False],  # draws: always
             ['print(len(model.docs))', True, False, False]]  # shown: always
    assert json.loads(pagert.plan(json.dumps(cells), 'print(history, model.n_layer)')) == [0, 4, 5, 6, 7]
    assert json.loads(pagert.plan(json.dumps(cells), 'print(1)')) == [0, 6, 7]  # the shown cell reads model
    ran = [[code, shown, i in (0, 4), jupyter] for i, (code, shown, _, jupyter) in enumerate(cells)]
    assert json.loads(pagert.plan(json.dumps(ran), 'print(history, model)')) == [5, 6, 7]
    assert json.loads(pagert.plan(json.dumps(cells), 'print(history')) == [0, 1, 3, 4, 5, 6, 7]  # unparsable: all
    for name in ('name', 'i', 'x'):  # a name the target binds before it reads it is not read from an earlier cell
        assert name not in pagert.names_of(f'for {name} in range(3):\n    print({name})')[2]
    assert 'x' in pagert.names_of('x = x + 1')[2] and 'n' not in pagert.names_of('[n for n in "ab"]')[2]


def test_a_cells_traceback_in_the_page_is_the_one_jupyter_shows():
    """pagert.run_cell, run here in CPython, and IPython (the build's kernel) on the same cells, numbered alike: the
    same traceback, character for character (for a SyntaxError too)."""
    pagert = page_runtime()
    cells = ['"e" * 0.5', 'a = 1\nb = 2\nc = 3\nd = 4\nh = a / 0\ni = 9\nj = 10\nk = 11',
             'def f(x):\n    return g(x) + 1\n\ndef g(y):\n    return [1][y]\n\nf(3)', 'raise KeyboardInterrupt',
             'x = (1,\ny = 2 +', 'import json\njson.loads("{")']
    script = ('import json, sys\nfrom IPython.core.interactiveshell import InteractiveShell\n'
              'shell = InteractiveShell.instance(colors="NoColor")\n'
              'for code in json.loads(sys.argv[1]):\n    shell.run_cell(code, store_history=True)\n    print("\\x00")\n')
    done = subprocess.run([sys.executable, '-c', script, json.dumps(cells)], capture_output=True, text=True, timeout=120)
    ipython = done.stdout.split('\x00\n')[:len(cells)]
    for number, (code, shown) in enumerate(zip(cells, ipython), 1):
        page = json.loads(pagert.run_cell(code, f'In[{number}]'))[-1]
        assert page[0] == 'error'
        if 'json' in code:  # a frame in the standard library: IPython's context lines follow statements, the page's lines
            assert page[1].splitlines()[:5] == shown.splitlines()[:5] and page[1].splitlines()[-1] == shown.splitlines()[-1]
            assert [l for l in page[1].splitlines() if l.startswith('File ')] == [
                l for l in shown.splitlines() if l.startswith('File ')], code
        else:
            assert page[1].strip() == shown.strip(), code
