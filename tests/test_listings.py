"""Code that never lies about its indentation (book/_ext/listings.py, on the mini-book tests/roots/test-listings/):
in the HTML each line of a listing is a block whose wrapped rows hang past its indentation; in the PDF a listing of
at most KEEP_WHOLE lines is never broken across pages."""

import html
import re
import shutil
import subprocess
import sys

import pytest

import tangle

sys.path.insert(0, str(tangle.ROOT / 'book' / '_ext'))
import listings  # noqa: E402

LONG_LINE = ('        probs = softmax(gpt(tokens[pos], pos, keys, values, some_more_arguments, and_even_more_of_them, '
             'to_wrap))')


def pre_texts(page):
    """The text of every highlighted <pre> of an HTML page, as a browser's textContent gives it."""
    return [html.unescape(re.sub(r'<[^>]+>', '', block))
            for block in re.findall(r'<div class="highlight"><pre>(.*?)</pre>', page, re.DOTALL)]


def test_wrap_lines_puts_each_line_in_a_span_with_its_indent_and_gutter_and_keeps_the_text():
    """Pygments' markup of a numbered two-line listing, and of an unnumbered one."""
    numbered = ('<div class="highlight"><pre><span></span><span class="linenos"> 9</span><span class="k">if</span> x:\n'
                '<span class="linenos">10</span>    <span class="n">y</span> = &quot;a&quot;\n</pre></div>')
    wrapped = listings.wrap_lines(numbered)
    assert re.findall(r'<span class="line" style="([^"]*)">', wrapped) == ['--indent:0;--gutter:3',
                                                                           '--indent:4;--gutter:3']
    assert pre_texts(wrapped) == pre_texts(numbered) == [' 9if x:\n10    y = "a"\n']
    plain = '<div class="highlight"><pre><span></span>print(1)\n</pre></div>'
    assert listings.wrap_lines(plain) == ('<div class="highlight"><pre><span class="line" style="--indent:0;--gutter:0">'
                                          '<span></span>print(1)<span class="nl">\n</span></span></pre></div>')


@pytest.mark.sphinx('html', testroot='listings', freshenv=True)
def test_html_lines_are_blocks_that_know_their_indentation_and_the_text_is_unchanged(app):
    """The ten-line listing: every line wrapped, the long one indented 8 past a gutter of 4; the stylesheet is there."""
    app.build()
    assert app.warning.getvalue() == ''
    page = (app.outdir / 'index.html').read_text(encoding='utf-8')
    first = re.search(r'<div class="highlight"><pre>(.*?)</pre>', page, re.DOTALL).group(1)
    styles = re.findall(r'<span class="line" style="([^"]*)">', first)
    assert len(styles) == 10 and styles[4] == '--indent:8;--gutter:4'
    source = (app.srcdir / 'index.md').read_text(encoding='utf-8')
    assert LONG_LINE in source
    assert pre_texts(page)[0] == ''.join(f'{154 + i}{line}\n' for i, line in enumerate(
        source.split(':caption: ten lines, the fifth far too long for one row\n\n')[1].split('```')[0].splitlines()))
    assert pre_texts(page)[1] == 'x = 1\n'
    assert 'span.line::before' in (app.outdir / '_static' / 'listings.css').read_text(encoding='utf-8')


@pytest.mark.sphinx('latex', testroot='listings', srcdir='listings-latex', freshenv=True)
def test_latex_sets_listings_of_at_most_twenty_lines_in_a_minipage_caption_included(app):
    """The ten-line listing (its caption inside the group) and the one-line one are kept whole; the 21-line one not."""
    app.build()
    tex = (app.outdir / 'listings.tex').read_text(encoding='utf-8')
    groups = re.findall(r'\\begingroup\\sphinxverbatimwithminipagetrue\n(.*?)\\endgroup', tex, re.DOTALL)
    assert len(groups) == 2
    assert groups[0].lstrip().startswith('\\sphinxSetupCaptionForVerbatim{ten lines')
    assert 'firstnumber=154' in groups[0] and 'x} \\PYG{o}{=} \\PYG{l+m+mi}{1}' in groups[1]
    assert 'line\\PYGZus{}21' in tex and not any('line\\PYGZus{}21' in group for group in groups)
    if not all(shutil.which(tool) for tool in ('latexmk', 'xelatex', 'pdftotext')):
        pytest.skip('latexmk, xelatex or pdftotext is missing: the PDF is not made')
    subprocess.run(['latexmk', '-pdfxe', '-interaction=nonstopmode', '-halt-on-error', 'listings.tex'],
                   cwd=app.outdir, check=True, capture_output=True, timeout=600)
    pages = subprocess.run(['pdftotext', '-layout', 'listings.pdf', '-'], cwd=app.outdir, check=True,
                           capture_output=True, text=True).stdout.split('\f')
    # The page before is filled up to nine lines from its foot: the listing (caption, ten lines, one of them
    # wrapped) starts on the next page, whole.
    holding = [n for n, text in enumerate(pages) if 'def name_loss' in text]
    assert len(holding) == 1 and 'return mean' in pages[holding[0]] and 'ten lines' in pages[holding[0]]
