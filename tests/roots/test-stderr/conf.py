"""A mini-book of executed pages for book/_ext/no_stderr.py: a cell's stderr on a page fails the build."""

import sys

# sphinx.testing copies this folder to a temporary one; tests/conftest.py has put the repository's root, where
# tangle.py is, on sys.path.
import tangle

sys.path.insert(0, str(tangle.ROOT / 'book' / '_ext'))

project = 'stderr'
# A dict of its own: Sphinx merges the extensions' suffixes into this value, and into its shared default when
# a conf.py sets none, which would then leak into the other mini-books the same pytest process builds.
source_suffix = {'.md': 'myst-nb'}
extensions = ['myst_nb', 'sphinx_external_toc', 'no_stderr']
external_toc_path = '_toc.yml'
nb_execution_mode = 'force'
nb_execution_raise_on_error = True
nb_output_stderr = 'show'   # as the book has it (execute.stderr_output: show)
