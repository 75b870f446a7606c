"""Shared setup: tangle.py importable, the names data located, Sphinx's test fixtures loaded, and the one HTML
build of the book that test_book and test_editions read."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO))
# The names data lives beside the checkout and is never copied into it (see DESIGN.md, "Data").
os.environ.setdefault('MICROGPT_NAMES', str(REPO.parent / 'shared' / 'data' / 'names.txt'))

pytest_plugins = ['sphinx.testing.fixtures']


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


@pytest.fixture(scope='session')
def html_build(tmp_path_factory):
    """One cold HTML build of the book, the student edition, for the whole session: (finished process, html folder).
    test_book checks it; test_editions compares the handouts' numbering with it."""
    out = tmp_path_factory.mktemp('book')
    env = {k: v for k, v in os.environ.items() if k != 'MICROGPT_EDITION'}
    done = subprocess.run([str(Path(sys.executable).parent / 'jupyter-book'), 'build', str(REPO), '--path-output', str(out),
                           '-W', '-n', '--keep-going'], capture_output=True, text=True, timeout=1800, env=env)
    return done, out / '_build' / 'html'
