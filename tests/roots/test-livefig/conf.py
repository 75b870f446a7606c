"""A one-page mini-book with a live figure (book/_ext/livefig.py), for tests/test_livefig.py."""

import sys
from pathlib import Path

for folder in Path(__file__).resolve().parents:  # the repository (see test-chunks/conf.py)
    if (folder / 'tangle.py').is_file():
        sys.path.insert(0, str(folder / 'book' / '_ext'))
        break

project = 'livefig'
extensions = ['myst_parser', 'livefig']
