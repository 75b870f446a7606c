"""Shared setup: tangle.py importable, the names data located, Sphinx's test fixtures loaded."""

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
