"""Shared setup: tangle.py importable, the names data located, Sphinx's test fixtures loaded."""

import os
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
