r"""Sphinx extension: code that never lies about its indentation, on screen and on paper.

HTML. A long line of a listing, a code cell or an output wraps (_static/listings.css) rather than hiding behind a
scroll bar. Wrapped back to the left margin, its second row would look like a new line with less indentation,
which misleads a reader who is new to Python. So every line of every highlighted block becomes a block of its
own, <span class="line" style="--indent:N;--gutter:G">: its rows after the first hang past the line's own
indentation (N spaces) and its line number (G characters), with a ↪ before each. The newline after each line
stays in the page, in <span class="nl">, which the stylesheet does not display (the line's block already breaks
there): the text of the <pre>, what the copy button and the tests read, is unchanged. The EPUB's lines hang the
same way, with the hang written in em into each line (e-readers know no CSS variables) and no ↪.

PDF. Sphinx's LaTeX already breaks a long line with ↪ and indents its continuation. What it does not do is keep
a short listing together: a ten-line chunk could start at the foot of a page, three lines there and seven on
the next. Every listing, cell or output of at most KEEP_WHOLE lines is set in a minipage (Sphinx's own switch
\sphinxverbatimwithminipagetrue, which it uses for code in footnotes), with its caption: it cannot break, and
starts on the next page when it does not fit on this one. A longer one may still break, as it must.

Listed under sphinx.local_extensions in _config.yml.
"""

import html
import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PRE = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre>)', re.DOTALL)
LINENOS = re.compile(r'<span class="linenos">([^<]*)</span>')
TAG = re.compile(r'<[^>]+>')
KEEP_WHOLE = 20   # listings of at most this many lines never break across pages in the PDF


def wrap_lines(body, ebook=False):
    """body (a page's HTML) with each line of every highlighted <pre> in a span of its own (see above). For the
    EPUB (ebook), whose readers know neither CSS variables nor the lh unit, the hang is written into each line's
    style in em (a monospaced character is about 0.6 em wide), and no ↪ is drawn."""
    def one_block(match):
        start, code, end = match.groups()
        lines = code.split('\n')
        last = lines.pop() if lines and lines[-1] in ('', '</span>') else None
        wrapped = []
        for line in lines:
            number = LINENOS.search(line)
            gutter = len(html.unescape(number.group(1))) + 1 if number else 0
            text = html.unescape(TAG.sub('', LINENOS.sub('', line)))
            indent = len(text) - len(text.lstrip(' '))
            style = (f'padding-left:{(gutter + indent + 4) * 0.6:.1f}em;text-indent:-{(gutter + indent + 4) * 0.6:.1f}em'
                     if ebook else f'--indent:{indent};--gutter:{gutter}')
            wrapped.append(f'<span class="line" style="{style}">{line}<span class="nl">\n</span></span>')
        return start + ''.join(wrapped) + (last or '') + end
    return PRE.sub(one_block, body)


def ancestors(node):
    """The nodes node is inside, nearest first."""
    while node.parent is not None:
        node = node.parent
        yield node


class KeepShortListingsWhole(SphinxPostTransform):
    """LaTeX: each literal block of at most KEEP_WHOLE lines (with its caption, when it has one) in a group that
    sets it in a minipage."""
    default_priority = 400
    formats = ('latex',)

    def run(self, **kwargs):
        for block in list(self.document.findall(nodes.literal_block)):
            if block.astext().rstrip('\n').count('\n') + 1 > KEEP_WHOLE or any(
                    isinstance(above, (nodes.footnote, nodes.table)) for above in ancestors(block)):
                continue   # a footnote's code is in a minipage already; a table's has an environment of its own
            wrapper = block.parent if block.parent.get('literal_block') else block   # a captioned code-block
            parent = wrapper.parent
            at = parent.index(wrapper)
            parent.insert(at + 1, nodes.raw('', '\\endgroup\n', format='latex'))
            parent.insert(at, nodes.raw('', '\\begingroup\\sphinxverbatimwithminipagetrue\n', format='latex'))


def on_page(app, pagename, templatename, context, doctree):
    """Wrap the lines of the page's listings, cells and outputs (the EPUB's stylesheet is book/_ext/ebook.css)."""
    if 'body' in context:
        context['body'] = wrap_lines(context['body'], ebook=app.builder.name.startswith('epub'))


def setup(app):
    app.connect('html-page-context', on_page)
    app.add_post_transform(KeepShortListingsWhole)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
