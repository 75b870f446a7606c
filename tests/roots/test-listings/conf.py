"""A one-page mini-book for book/_ext/listings.py: wrapped lines hang in the HTML, short listings stay whole in
the PDF."""

import sys

# sphinx.testing copies this folder to a temporary one; tests/conftest.py has put the repository's root, where
# tangle.py is, on sys.path.
import tangle

sys.path.insert(0, str(tangle.ROOT / 'book' / '_ext'))

project = 'listings'
# A dict of its own: Sphinx merges the extensions' suffixes into this value, and into its shared default when
# a conf.py sets none, which would then leak into the other mini-books the same pytest process builds.
source_suffix = {'.md': 'markdown'}
extensions = ['myst_parser', 'listings']
html_static_path = [str(tangle.ROOT / '_static')]
html_css_files = ['listings.css']
latex_engine = 'xelatex'
latex_documents = [('index', 'listings.tex', 'Listings', 'Test', 'howto')]
