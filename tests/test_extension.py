"""The Sphinx side of tangle.py on mini-books in tests/roots/: real line numbers, the {lines} role, {show}."""

import html
import re

import pytest
from sphinx.errors import SphinxWarning
from sphinx.util.console import strip_colors

import tangle

MINI_PROGRAM = 'a = 1\nb = 2\nc = a + b\nd = c * 2\ne = d - 1\nprint(a, b, c, d, e)\n\n'
LINENO_RE = re.compile(r'^(?:<span></span>)?<span class="linenos">\s*(\d+)</span>(.*)$')
LISTING_RE = re.compile(r'<div class="highlight"><pre>(.*?)</pre>', re.DOTALL)
STD_REF_RE = re.compile(r'<a class="reference internal" href="([^"]*)"><span class="std std-ref">([^<]*)</span></a>')
CAPTION_RE = re.compile(r'<span class="caption-text">([^<]*)</span>')


def numbered_listings(page):
    """Every highlighted block of an HTML page as [(line number, plain text of that line), ...]."""
    listings = []
    for block in LISTING_RE.findall(page):
        rows = []
        for row in block.splitlines():
            match = LINENO_RE.match(row)
            assert match, f'a listing line without a line number: {row!r}'
            rows.append((int(match.group(1)), html.unescape(re.sub(r'<[^>]+>', '', match.group(2)))))
        listings.append(rows)
    return listings


def program_rows(book, first, last):
    """[(n, program line n)] for n in first..last of the tangled mini program."""
    return [(n, book.lines[n - 1]) for n in range(first, last + 1)]


@pytest.mark.sphinx('html', testroot='chunks', freshenv=True)
def test_html_build_of_the_mini_book_has_no_warnings_and_the_tangle_has_each_line_once(app):
    """The mini-book builds cleanly; its program is the two chunks once each, though {show} re-shows them."""
    app.build()
    assert 'reading sources... [100%] two' in strip_colors(app.status.getvalue())
    assert strip_colors(app.warning.getvalue()) == ''
    assert tangle.read_book(app.srcdir).text == MINI_PROGRAM
    assert app.microgpt_book.text == MINI_PROGRAM


@pytest.mark.sphinx('html', testroot='chunks')
def test_chunks_and_show_render_with_the_line_numbers_they_have_in_the_tangled_program(app):
    """one.md's chunk is lines 1-3, two.md's lines 4-6 (its trailing blank line not shown), {show} lines 1-6."""
    app.build()
    book = tangle.read_book(app.srcdir)
    one = (app.outdir / 'one.html').read_text(encoding='utf-8')
    two = (app.outdir / 'two.html').read_text(encoding='utf-8')
    assert numbered_listings(one) == [program_rows(book, 1, 3)]
    assert numbered_listings(two) == [program_rows(book, 4, 6), program_rows(book, 1, 6)]
    assert numbered_listings(two)[0] == [(4, 'd = c * 2'), (5, 'e = d - 1'), (6, 'print(a, b, c, d, e)')]
    assert CAPTION_RE.findall(one) == ['first \u00b7 microgpt.py lines 1\u20133']
    assert CAPTION_RE.findall(two) == ['second \u00b7 microgpt.py lines 4\u20136',
                                       'microgpt.py lines 1\u20136 (from first to second)']


@pytest.mark.sphinx('html', testroot='chunks')
def test_lines_role_says_line_or_lines_with_an_en_dash_and_links_to_the_chunk_on_its_page(app):
    """NAME, NAME:2, NAME:1-2, NAME~text and another page's chunk, in the order two.md writes them."""
    app.build()
    one = (app.outdir / 'one.html').read_text(encoding='utf-8')
    two = (app.outdir / 'two.html').read_text(encoding='utf-8')
    assert STD_REF_RE.findall(two) == [
        ('#chunk-second', 'lines 4\u20136'),
        ('#chunk-second', 'line 5'),
        ('#chunk-second', 'lines 4\u20135'),
        ('#chunk-second', 'line 5'),
        ('one.html#chunk-first', 'lines 1\u20133'),
    ]
    assert 'id="chunk-first"' in one
    assert 'id="chunk-second"' in two


@pytest.mark.sphinx('latex', testroot='chunks', srcdir='chunks-latex')
def test_latex_build_numbers_each_chunk_listing_from_its_first_program_line(app):
    """The .tex labels each chunk's listing and starts its numbering at the chunk's program line."""
    app.build()
    assert strip_colors(app.warning.getvalue()) == ''
    tex = (app.outdir / 'chunks.tex').read_text(encoding='utf-8')
    labelled = re.findall(r'\\label\{\\detokenize\{(\w+:chunk-[\w-]+)\}\}\}\n'
                          r'\\begin\{sphinxVerbatim\}\[[^\]]*firstnumber=(\d+)', tex)
    assert labelled == [('one:chunk-first', '1'), ('two:chunk-second', '4')]
    assert re.findall(r'firstnumber=(\d+)', tex) == ['1', '4', '1']
    assert 'lines 4\\textendash{}6' in tex


@pytest.mark.sphinx('html', testroot='unknown-chunk-in-lines-role')
def test_lines_role_with_an_unknown_chunk_reports_an_error_naming_the_chunk_and_its_place(app):
    """{lines}`no-such-chunk` on line 7 of one.md."""
    app.build()
    assert strip_colors(app.warning.getvalue()) == f"{app.srcdir / 'one.md'}:7: ERROR: unknown chunk 'no-such-chunk'\n"


@pytest.mark.sphinx('html', testroot='unknown-chunk-in-lines-role', srcdir='unknown-chunk-in-lines-role-strict',
                    warningiserror=True)
def test_lines_role_with_an_unknown_chunk_fails_a_build_with_warnings_as_errors(app):
    """With -W the unknown chunk stops the build."""
    with pytest.raises(SphinxWarning, match="one.md:7:unknown chunk 'no-such-chunk'"):
        app.build()


@pytest.mark.sphinx('html', testroot='unknown-chunk-in-show')
def test_show_with_an_unknown_chunk_reports_an_error_naming_the_chunk_and_its_place(app):
    """```{show} first..no-such-chunk on line 7 of one.md."""
    app.build()
    assert strip_colors(app.warning.getvalue()) == f"{app.srcdir / 'one.md'}:7: ERROR: unknown chunk 'no-such-chunk'\n"


@pytest.mark.sphinx('html', testroot='unknown-chunk-in-show', srcdir='unknown-chunk-in-show-strict',
                    warningiserror=True)
def test_show_with_an_unknown_chunk_fails_a_build_with_warnings_as_errors(app):
    """With -W the unknown chunk stops the build."""
    with pytest.raises(SphinxWarning, match="one.md:7:unknown chunk 'no-such-chunk'"):
        app.build()


def test_a_merged_cell_output_is_its_printing_however_the_kernel_cut_it():
    """book/_ext/streams.py: pieces cut mid-line (as a busy kernel sends them) merge into the lines as printed, with
    MyST-NB's own clean-up after; the executed notebook's pieces are left as they were."""
    import nbformat
    import streams
    from myst_nb.core import render

    pieces = [nbformat.from_dict({'output_type': 'stream', 'name': 'stdout', 'text': text})
              for text in ('   3  3.0664 ', ' -0.01790\n', '   4  3.2209  \n\n')]
    assert streams.join_streams(pieces) == [{'output_type': 'stream', 'name': 'stdout',
                                             'text': '   3  3.0664  -0.01790\n   4  3.2209\n'}]
    assert [p['text'] for p in pieces] == ['   3  3.0664 ', ' -0.01790\n', '   4  3.2209  \n\n']
    assert streams.MYST_NB_MERGE([nbformat.from_dict(dict(p)) for p in pieces])[0]['text'].startswith(
        '   3  3.0664\n -0.01790')  # what MyST-NB alone makes of them: the line broken in two
    streams.setup(type('App', (), {})())
    assert render.coalesce_streams is streams.join_streams
