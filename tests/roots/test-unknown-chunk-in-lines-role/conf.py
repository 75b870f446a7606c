"""A mini-book whose {lines} role names a chunk that does not exist: the build must report it."""

import sys
from pathlib import Path

# tangle.py sits at the repository root, three folders up. sphinx.testing copies this folder to a
# temporary one, where no parent holds tangle.py; there tests/conftest.py has put the root on sys.path.
for folder in Path(__file__).resolve().parents:
    if (folder / 'tangle.py').is_file():
        sys.path.insert(0, str(folder))
        break

project = 'unknown-chunk'
extensions = ['myst_parser', 'sphinx_external_toc', 'tangle']
external_toc_path = '_toc.yml'
