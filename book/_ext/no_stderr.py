"""Sphinx extension: a cell that prints to stderr on a page fails the build, unless it does so on purpose.

Text a cell writes to stderr (a library's warning, a tool's note) is shown under the cell, where a reader
takes it for part of the lesson. Every page is read once per build, and a cell output of the name stderr that
is left on the page (not in a removed cell or output) is reported as an error at the cell's line, with the
text; the book builds with -W, so the build fails. A cell that shows such text on purpose says so with the
tag `shows-stderr` (or `raises-exception`, a cell that shows an error on purpose). The tag `remove-stderr`,
which would hide the text instead of curing its cause, is reported too.

It also builds Matplotlib's font cache in the build process before any page is executed: otherwise the
first kernel that imports Matplotlib on a fresh machine says "Matplotlib is building the font cache" under
that page's cell. tests/page.py applies the same rule to one page (stderr_on_page below).

Listed under sphinx.local_extensions in _config.yml.
"""

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)
ON_PURPOSE = ('shows-stderr', 'raises-exception')   # tags of a cell that shows stderr or an error on purpose
HIDING = 'remove-stderr'                            # MyST-NB's tag that drops a cell's stderr from the page


def on_purpose(tags):
    """Whether a cell with these tags may show stderr."""
    return any(tag in tags for tag in ON_PURPOSE)


def stderr_on_page(cell):
    """The stderr text an executed notebook cell (a dict, as nbformat has it) leaves on the page, else ''."""
    tags = cell.get('metadata', {}).get('tags', [])
    if cell.get('cell_type') != 'code' or on_purpose(tags) or any(
            tag in tags for tag in ('remove-cell', 'remove-output', HIDING)):
        return ''
    return ''.join(''.join(output.get('text', '')) for output in cell.get('outputs', [])
                   if output.get('output_type') == 'stream' and output.get('name') == 'stderr')


def check_cells(app, doctree):
    """Report each cell of the page read whose stderr is on the page, or that hides it with remove-stderr (at
    the cell's place in the page's source, which MyST-NB gives as the line that ends its code)."""
    for cell in doctree.findall(lambda n: isinstance(n, nodes.container) and n.get('nb_element') == 'cell_code'):
        tags = cell.get('cell_metadata', {}).get('tags', [])
        if HIDING in tags:
            logger.error(f'a cell tagged {HIDING}: its stderr is hidden, not cured; remove what prints it '
                         f'(or tag the cell shows-stderr to show it on purpose)',
                         location=cell, type='microgpt', subtype='stderr')
        if on_purpose(tags):
            continue
        stderr = (lambda n: isinstance(n, nodes.Element) and {'output', 'stderr'} <= set(n['classes']))
        for output in cell.findall(stderr):
            text = output.astext().strip()
            shown = text if len(text) <= 300 else text[:300] + ' ...'
            logger.error(f'a cell prints to stderr on the page: {shown!r}; remove its cause '
                         f'(or tag the cell shows-stderr if the page means to show it)',
                         location=cell, type='microgpt', subtype='stderr')


def build_font_cache(app, config):
    """Let Matplotlib build its font cache now, in the build, rather than under a page's first drawing cell."""
    try:
        import matplotlib.font_manager  # noqa: F401  (importing it builds the cache once, if missing)
    except ImportError:
        pass


def setup(app):
    app.connect('config-inited', build_font_cache)
    app.connect('doctree-read', check_cells)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
