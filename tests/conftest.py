"""Shared setup: tangle.py importable, the names data located, Sphinx's test fixtures loaded, and the heavy
builds of the book (HTML, PDF, EPUB, handouts), each made once per session, two at a time in the background."""

import copy
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sphinx.config import Config

REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO))
# The names data lives beside the checkout and is never copied into it (see DESIGN.md, "Data").
os.environ.setdefault('MICROGPT_NAMES', str(REPO.parent / 'shared' / 'data' / 'names.txt'))

pytest_plugins = ['sphinx.testing.fixtures']

# Sphinx (7.4) gives each application its class-level config defaults themselves, not copies, and changes some
# in place: merge_source_suffix adds every extension's suffixes to the default source_suffix when conf.py sets
# none. So one in-process build with myst_parser left '.md': 'markdown' in the default for every later build,
# and a later MyST-NB build never mapped '.md' to its own parser ("Source parser for markdown not registered");
# a MyST-NB build leaves '.md': 'myst-nb' for the builds after it. Each test starts from the defaults as Sphinx
# defines them, taken here before any application exists, and builds within a test restore them after each one.
SPHINX_DEFAULTS = copy.deepcopy(Config.config_values)


def restore_sphinx_defaults():
    """Sphinx's class-level config defaults back as Sphinx defines them (the same dict, fresh values)."""
    Config.config_values.clear()
    Config.config_values.update(copy.deepcopy(SPHINX_DEFAULTS))


@pytest.fixture(autouse=True)
def pristine_sphinx_defaults():
    """No Sphinx build in one test changes the configuration a build in a later test starts from."""
    restore_sphinx_defaults()
    yield
    restore_sphinx_defaults()


@pytest.fixture(scope='session')
def rootdir():
    """The folder of mini-books for @pytest.mark.sphinx(testroot=...): tests/roots/test-NAME/."""
    return Path(__file__).parent / 'roots'


def run_short(folder, steps, n_names):
    """Run the tangled program with num_steps = steps on the first n_names names, in folder; the finished process."""
    import tangle
    source = tangle.read_book(tangle.ROOT).text
    assert source.count('num_steps = 1000\n') == 1
    (folder / 'microgpt.py').write_text(source.replace('num_steps = 1000\n', f'num_steps = {steps}\n'), encoding='utf-8')
    names = tangle.names_file().read_text(encoding='utf-8').splitlines()[:n_names]
    (folder / 'input.txt').write_text('\n'.join(names) + '\n', encoding='utf-8')
    return subprocess.run([sys.executable, 'microgpt.py'], cwd=folder, capture_output=True, text=True, timeout=300)


JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'
FLAGS = ['-W', '-n', '--keep-going']
LATEX_TOOLS = ('xelatex', 'latexmk', 'pdfinfo', 'pdftotext', 'pdfimages', 'rsvg-convert')
# How many builds run at once: each is mostly one process (Sphinx, a kernel, LaTeX), and the machine has 2 cores.
PARALLEL_BUILDS = 2


def book_build(*extra):
    """The jupyter-book command that builds the repository into an output folder, with extra arguments."""
    return lambda out: [str(JUPYTER_BOOK), 'build', str(REPO), '--path-output', str(out), *FLAGS, *extra]


def handouts_build(out):
    """make handouts into out, with the virtual environment running the tests (-o: as it is, not reinstalled)."""
    venv = Path(sys.executable).parent.parent
    return ['make', '--no-print-directory', '-o', f'{venv}/.installed', 'handouts', f'VENV={venv}', f'HANDOUTS={out}']


# Fixture name: (the command for an output folder, the programs it needs, what it is). In this order they start.
BUILDS = {
    'html_build': (book_build(), (), 'the HTML book'),
    'handouts_build': (handouts_build, LATEX_TOOLS, 'the handouts and answer keys'),
    'pdf_build': (book_build('--builder', 'pdflatex'), LATEX_TOOLS, 'the PDF'),
    'epub_build': (book_build('--builder', 'custom', '--custom-builder', 'epub'), (), 'the EPUB'),
}


class Builds:
    """The builds the collected tests need, started as soon as they are collected, PARALLEL_BUILDS at a time,
    each from scratch into a folder of its own (they share only tangle's cached training run, which has a
    lock); a fixture waits for its build. The quick tests run meanwhile."""

    def __init__(self, config):
        self.folders = config._tmp_path_factory   # pytest's own, so the folders sit with the other tmp_paths
        self.pool = ThreadPoolExecutor(max_workers=PARALLEL_BUILDS, thread_name_prefix='book-build')
        self.started = {}
        self.running = {}

    def start(self, name):
        if name not in self.started:
            self.started[name] = self.pool.submit(self.run, name, self.folders.mktemp(name))
        return self.started[name]

    def run(self, name, out):
        command, _, _ = BUILDS[name]
        # The edition is chosen by each build itself (make handouts), never inherited; make's own variables
        # from an outer make (make test) would confuse the inner one.
        env = {k: v for k, v in os.environ.items() if k not in ('MICROGPT_EDITION', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
        with subprocess.Popen(command(out), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, start_new_session=True) as process:
            self.running[name] = process
            try:
                stdout, stderr = process.communicate(timeout=3600)
            finally:
                self.running.pop(name, None)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), out

    def stop(self):
        """At the end of the session: builds not started are dropped, and a build no test waited for (the
        session stopped early) is ended with everything it started (kernels, LaTeX)."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in list(self.running.values()):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.pool.shutdown(wait=True)

    def result(self, name):
        """(finished process, output folder) of the build, started now if it was not."""
        return self.start(name).result()


def builds(config):
    if not hasattr(config, '_microgpt_builds'):
        config._microgpt_builds = Builds(config)
    return config._microgpt_builds


def missing_tools(name):
    return [tool for tool in BUILDS[name][1] if not shutil.which(tool)]


def pytest_collection_finish(session):
    """Start the builds that the collected tests use (and that can run here) at once, in the background."""
    if session.config.option.collectonly:
        return
    wanted = {name for item in session.items for name in getattr(item, 'fixturenames', ())}
    for name in BUILDS:
        if name in wanted and not missing_tools(name):
            builds(session.config).start(name)


def pytest_sessionfinish(session):
    if hasattr(session.config, '_microgpt_builds'):
        session.config._microgpt_builds.stop()


def build_result(request, name):
    """A build's (finished process, output folder); where a program it needs is missing, a skip with the reason,
    or under CI (CI=true, where .ci/run installs everything) a failure."""
    missing = missing_tools(name)
    if missing:
        what = BUILDS[name][2]
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI must build {what}, but {", ".join(missing)} is missing: .ci/packages installs it')
        pytest.skip(f'no {", ".join(missing)} here: see the README for the Debian packages needed for {what}')
    return builds(request.config).result(name)


@pytest.fixture(scope='session')
def html_build(request):
    """The HTML book, the student edition: (finished process, html folder). test_book checks it; test_editions
    compares the handouts' numbering with it."""
    done, out = build_result(request, 'html_build')
    return done, out / '_build' / 'html'


@pytest.fixture(scope='session')
def pdf_build(request):
    """The book's PDF through xelatex: (finished process, output folder)."""
    return build_result(request, 'pdf_build')


@pytest.fixture(scope='session')
def epub_build(request):
    """The EPUB, the student edition: (finished process, the .epub file). It is also the second clean build
    that test_book compares with the HTML one."""
    done, out = build_result(request, 'epub_build')
    return done, out / '_build' / 'epub' / 'microgpt-book.epub'


@pytest.fixture(scope='session')
def handouts_build(request):
    """make handouts: (finished process, the folder of the PDFs)."""
    return build_result(request, 'handouts_build')
