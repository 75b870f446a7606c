"""The whole book builds, HTML and PDF, with warnings as errors and every cell executed."""

import html
import json
from html.parser import HTMLParser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tangle

REPO = Path(__file__).resolve().parent.parent
# html_build, pdf_build and epub_build, each made once per session in the background, are in conftest.py.


def lessons():
    """The document names of every page in _toc.yml order."""
    return tangle.read_book(REPO).docnames


def test_html_book_builds_with_warnings_as_errors_and_cells_executed(html_build):
    """jupyter-book -W -n --keep-going succeeds: no warning, no failed cell."""
    done, _ = html_build
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert 'build succeeded' in done.stdout
    assert not re.search(r': (WARNING|ERROR): ', done.stdout + done.stderr)


def test_every_page_of_the_toc_is_in_the_html(html_build):
    """Each _toc.yml entry became a page."""
    _, site = html_build
    missing = [d for d in lessons() if not (site / f'{d}.html').is_file()]
    assert not missing


def test_html_listings_carry_the_real_line_numbers_of_microgpt(html_build):
    """Every chunk is rendered with the numbers and the text its lines have in microgpt.py."""
    _, site = html_build
    assert_listings_show_the_program(lambda docname: (site / f'{docname}.html').read_text(encoding='utf-8'))


def assert_listings_show_the_program(page_of):
    """Every chunk's listing on its page (page_of(docname): the page's markup, HTML or the EPUB's XHTML) has
    the line numbers and the text its lines have in microgpt.py."""
    program = (REPO / 'microgpt.py').read_text(encoding='utf-8').splitlines()
    for chunk in tangle.read_book(REPO).chunks:
        page = page_of(chunk.docname)
        anchor = page.index(f'id="chunk-{chunk.name}"')
        block = page[anchor:page.index('</pre>', anchor)]
        numbers = [int(n) for n in re.findall(r'<span class="linenos">\s*(\d+)</span>', block)]
        assert numbers == list(range(chunk.start, chunk.last + 1)), chunk.name
        text = html.unescape(re.sub(r'<span class="linenos">[^<]*</span>|<[^>]+>', '', block.split('<pre>', 1)[1]))
        assert text.splitlines() == program[chunk.start - 1:chunk.last], chunk.name


def test_executed_values_are_in_the_html(html_build):
    """Glued values from executed cells reach the page: the real number of names."""
    _, site = html_build
    page = (site / 'book/01-data/01-the-names.html').read_text(encoding='utf-8')
    names = sum(1 for line in tangle.names_file(REPO).read_text().splitlines() if line.strip())
    assert f'{names:,}' in page


# Glued values that measure the machine (wall-clock times, their ratios, the collector's activity while
# timing), by page: they differ from run to run by nature. Everything else must be identical.
MEASURED_TIMES = {'book/02-autograd/06-graphs-at-scale': {'t_forward', 't_backward', 'nudge_minutes', 't_on', 't_off',
                                                         'gc_inside', 'gc_share', 'slowdown', 'gen0', 'gen2'},
                  'book/04-training/03-backprop': {'seconds'}}


def glued_values(out):
    """Every glued value of every executed page of a build, by page and key (MyST-NB's .glue.json files)."""
    executed = out / '_build' / 'jupyter_execute'
    values = {}
    for path in sorted(executed.rglob('*.glue.json')):
        page = path.relative_to(executed).as_posix().removesuffix('.glue.json')
        glue = json.loads(path.read_text(encoding='utf-8'))
        values[page] = {key: output['data'] for key, output in glue.items() if key not in MEASURED_TIMES.get(page, ())}
    return values


def test_two_clean_builds_give_the_same_program_and_the_same_executed_values(html_build, epub_build):
    """Reproducible: a second build from scratch (the EPUB's, which executes every page again in its own folder)
    glues exactly the same values (timings aside) into every page."""
    _, site = html_build
    first = glued_values(site.parent.parent)
    assert sum(len(values) for values in first.values()) > 300
    done, epub = epub_build
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    second = glued_values(epub.parents[2])
    assert first == second
    assert tangle.read_book(REPO).text == (REPO / 'microgpt.py').read_text(encoding='utf-8')


def test_the_book_offers_a_solution_free_notebook_for_every_lesson(html_build):
    """In the student book, every lesson's .ipynb exists, is linked, is valid, and carries no solution or raw role."""
    _, site = html_build
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import editions
    import nbformat
    for number, docname in editions.lessons(REPO):
        path = site / '_sources' / f'{docname}.ipynb'
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        text = '\n\n'.join(c.source for c in notebook.cells if c.cell_type == 'markdown')
        assert '**Solution.**' not in text and '{solution' not in json.dumps(notebook), docname
        stripped = re.sub(r'`{2,}.*?`{2,}', '', text, flags=re.S)
        assert not re.search(r'\{(glue|lines|term|ref|numref|doc)[:a-z]*\}`', stripped), docname
        assert f'lesson {number} of' in notebook.cells[0].source
        assert f'_sources/{docname}.ipynb"' in (site / f'{docname}.html').read_text(), docname


def test_the_html_loads_nothing_from_other_sites(html_build):
    """Offline reading: no script, stylesheet, font or image comes from another host."""
    _, site = html_build
    external = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"')
    for page in site.rglob('*.html'):
        found = external.findall(page.read_text(encoding='utf-8'))
        assert not found, (page, found[:3])
    assert (site / '_static' / 'mathjax' / 'tex-chtml.js').is_file()
    for css in site.rglob('*.css'):
        assert not re.search(r'url\((["\']?)(https?:)?//', css.read_text(encoding='utf-8', errors='replace')), css


class PageOutline(HTMLParser):
    """The <img> attributes of a page and the heading levels inside its <article> (the main content)."""

    def __init__(self):
        super().__init__()
        self.images, self.headings, self.in_article = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == 'img':
            self.images.append(dict(attrs))
        elif tag == 'article':
            self.in_article += 1
        elif self.in_article and re.fullmatch(r'h[1-6]', tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == 'article':
            self.in_article -= 1


def outlines(site):
    """{page: PageOutline} for every HTML page of the site, the theme's _static templates left out."""
    pages = {}
    for page in sorted(site.rglob('*.html')):
        if not page.relative_to(site).parts[0].startswith('_'):
            pages[str(page.relative_to(site))] = outline = PageOutline()
            outline.feed(page.read_text(encoding='utf-8'))
    return pages


def test_every_image_has_alt_text(html_build):
    """Every <img> of every page has a non-empty alt (a figure's is set in its cell's mystnb: image: alt:)."""
    _, site = html_build
    missing = {page: [image.get('src') for image in outline.images if not (image.get('alt') or '').strip()]
               for page, outline in outlines(site).items()}
    assert not {page: images for page, images in missing.items() if images}


def test_every_page_has_one_h1_and_headings_never_skip_a_level(html_build):
    """The main content of every page has exactly one h1, and going down no level is skipped (h1 then h3)."""
    _, site = html_build
    pages = {page: outline.headings for page, outline in outlines(site).items() if outline.headings}
    assert 'book/index.html' in pages and len(pages) > len(lessons())
    for page, levels in pages.items():
        assert levels.count(1) == 1 and levels[0] == 1, (page, levels)
        skips = [(upper, lower) for upper, lower in zip(levels, levels[1:]) if lower > upper + 1]
        assert not skips, (page, skips)


def test_axe_finds_no_accessibility_violation_on_any_page(html_build):
    """axe-core (tests/a11y/run_axe.js, what make a11y runs) checks every page in the light and the dark
    colour mode through Debian's chromium and finds nothing. Needs node, npm and chromium (.ci/run installs
    chromium); npm ci installs the pinned axe-core and puppeteer-core, without a browser."""
    _, site = html_build
    chromium = os.environ.get('CHROMIUM', '/usr/bin/chromium')
    needed = [tool for tool in ('node', 'npm') if not shutil.which(tool)] + \
        ([] if os.access(chromium, os.X_OK) else [chromium])
    if needed:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI must check accessibility, but {", ".join(needed)} is missing: .ci/run installs it')
        pytest.skip(f'no {", ".join(needed)} here: make a11y needs Node.js, npm and Debian\'s chromium')
    a11y = REPO / 'tests' / 'a11y'
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD='1')
    npm = subprocess.run(['npm', 'ci', '--no-audit', '--no-fund'], cwd=a11y, env=env,
                         capture_output=True, text=True, timeout=600)
    if npm.returncode != 0:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'npm ci failed in tests/a11y:\n{npm.stderr[-2000:]}')
        pytest.skip(f'npm ci could not install axe-core and puppeteer-core (offline?): {npm.stderr.strip()[-300:]}')
    done = subprocess.run(['node', 'run_axe.js', str(site)], cwd=a11y, env=dict(env, A11Y_VERBOSE='1'),
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r'^0 violations in 0 of \d+ checks', done.stdout, re.M), done.stdout[-2000:]


def test_pdf_book_builds_with_xelatex_and_has_more_pages_than_lessons(pdf_build):
    """The PDF builds through LaTeX (xelatex) and has more than one page per lesson."""
    done, out = pdf_build
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    pdf = out / '_build' / 'latex' / 'microgpt-book.pdf'
    log = (out / '_build' / 'latex' / 'microgpt-book.log').read_text(errors='replace')
    assert 'XeTeX' in log
    info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r'^Pages:\s+(\d+)', info, re.M).group(1))
    assert pages > len(lessons())
    tex = (out / '_build' / 'latex' / 'microgpt-book.tex').read_text(encoding='utf-8')
    for chunk in tangle.read_book(REPO).chunks:
        assert f'firstnumber={chunk.start}' in tex, chunk.name
    # Polish: every part of _toc.yml opens with a page of its own and a contents entry, chapters are
    # numbered, the contents are called Contents, and no reference is left unresolved.
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    import editions
    outline = subprocess.run(['pdftotext', '-layout', str(pdf), '-'], capture_output=True, text=True, check=True).stdout
    pages_text = outline.split('\f')
    contents = '\n'.join(pages_text[1:8])
    assert 'Contents' in contents
    for caption, _, _ in editions.parts(REPO):
        assert caption in contents, caption
        assert any(page.strip() == caption or page.strip().startswith(caption + '\n') for page in pages_text), \
            f'no page of its own for the part {caption!r}'
    assert 'Lesson 1\n' in outline and 'Appendix A\n' in outline
    # The title page: title, subtitle with the program's real length, the edition and the licences.
    title = ' '.join(pages_text[0].split())
    program_lines = len((REPO / 'microgpt.py').read_text(encoding='utf-8').splitlines())
    assert title.startswith('microgpt, line by line') and f'in {program_lines} lines of plain Python' in title
    assert re.search(r'Edition of \d{4}-\d\d-\d\d \(commit [0-9a-f]{7,}\)', title), title
    assert 'CC BY-SA 4.0' in title and 'MIT licence' in title
    assert 'undefined references' not in log and '??' not in outline
    # The code of a cell the HTML hides (figure drawing, hidden setup) is not printed; its output is.
    printed = hidden_code_printed(outline)
    assert not printed, f'code of hidden cells printed in the PDF: {printed[:5]}'


def test_the_pdf_book_uses_no_web_only_words(pdf_build):
    """Print never asks to click, hover or open a solution (test_editions.py checks the handouts, keys and sheets)."""
    _, out = pdf_build
    from test_editions import WEB_ONLY, pdf_text
    text = ' '.join(pdf_text(out / '_build' / 'latex' / 'microgpt-book.pdf').split())
    assert WEB_ONLY.findall(text) == [], [text[max(0, m.start() - 80):m.end() + 40] for m in WEB_ONLY.finditer(text)][:5]


def test_the_pdf_reads_like_a_book(pdf_build):
    """On paper: every figure is vector art (no PNG is included; the only rasters are the pixels of heat maps
    inside vector figures), no page holds the web's "Next:" line, a reference to another lesson carries its number
    and page, the index has entries for the glossary's terms and the program's names, the metadata has the title
    and the authors, and a line of text holds about 80 characters."""
    done, out = pdf_build
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    latex = out / '_build' / 'latex'
    pdf = latex / 'microgpt-book.pdf'
    tex = (latex / 'microgpt-book.tex').read_text(encoding='utf-8')
    figures = re.findall(r'\\sphinxincludegraphics(?:\[[^]]*\])?\{\{([^}]*)\}(\.\w+)\}', tex)
    assert len(figures) > 30 and {suffix for _, suffix in figures} == {'.pdf'}, sorted({s for _, s in figures})
    listed = subprocess.run(['pdfimages', '-list', str(pdf)], capture_output=True, text=True, check=True).stdout
    rasters = [line.split() for line in listed.splitlines()[2:] if line.strip()]
    # (page num type width height color comp bpc enc interp ...): the only images are the cells of heat maps and the
    # bars of colour scales inside vector figures, a colour map's few colours (an indexed palette, with a grey alpha
    # mask at most); a picture of a whole figure (a PNG: anti-aliased text and lines) has full colour.
    assert rasters and not [r for r in rasters if (r[2], r[5]) not in (('image', 'index'), ('smask', 'gray'))], \
        [r for r in rasters if r[5] != 'index'][:5]
    pages = subprocess.run(['pdftotext', '-layout', str(pdf), '-'], capture_output=True, text=True,
                           check=True).stdout.split('\f')
    assert not [n for n, page in enumerate(pages, 1) if re.search(r'^\s*Next:', page, re.M)]
    text = '\n'.join(pages)
    assert len(re.findall(r'\(lesson \d+, p\.\s*\d+\)', text)) > 50
    index = next(n for n in range(len(pages) - 1, 0, -1) if re.match(r'\s*Index\b', pages[n]))
    entries = ' '.join(' '.join(pages[index:]).split())
    assert re.search(r'gpt\(\), (\d+, )+\d+', entries) and re.search(r'softmax\(\), (\d+, )+\d+', entries)
    assert re.search(r'\blogits, (\d+, ){3,}', entries), entries[:2000]
    info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r'^Title:\s+microgpt, line by line$', info, re.M), info
    assert re.search(r'^Author:\s+The microgpt book authors$', info, re.M), info
    # The line length: the longest lines of prose of a lesson's page, in characters (about 80, at most 90).
    body = [line.strip() for page in pages[20:40] for line in page.splitlines() if re.fullmatch(r'[A-Za-z ,.;:()\'-]{40,}', line.strip())]
    widest = sorted(len(line) for line in body)[-20:]
    assert 70 <= widest[0] and widest[-1] <= 92, widest


def page_notebooks():
    """(docname, the page read as MyST-NB reads it into a notebook) for every page of _toc.yml."""
    from myst_nb.core.read import read_myst_markdown_notebook
    for docname in lessons():
        yield docname, read_myst_markdown_notebook(tangle.chapter_file(REPO, docname).read_text(encoding='utf-8'))


def hidden_cell_lines():
    """Distinctive lines (30+ characters) of code cells tagged hide-input, hide-cell or remove-input, book-wide,
    that appear nowhere the book shows code or text (a visible cell, a listing, the prose); the PDF check
    looks for the whole of each line short enough (70 characters) not to wrap."""
    hidden, shown = set(), set()
    for _, notebook in page_notebooks():
        for cell in notebook.cells:
            lines = {line.strip() for line in cell.source.splitlines() if len(line.strip()) >= 30}
            tags = set(cell.metadata.get('tags', []))
            if cell.cell_type == 'code' and {'hide-input', 'hide-cell', 'remove-input'} & tags:
                hidden |= lines
            elif 'remove-cell' not in tags:
                shown |= lines
    return hidden - shown


VISIBLE_CODE = 'from collections import Counter'  # a line of a visible cell: the check can see printed code


def hidden_code_printed(layout_text):
    """The lines of hidden cells (hidden_cell_lines, those short enough not to wrap) that a PDF's text, as
    `pdftotext -layout` gives it, prints whole; it must print VISIBLE_CODE, or the check would see nothing."""
    hidden = [line for line in hidden_cell_lines() if len(line) <= 70]
    assert len(hidden) > 100
    pdf_lines = {re.sub(r'\s+', ' ', line).strip() for line in layout_text.splitlines()}
    assert VISIBLE_CODE in pdf_lines
    return [line for line in hidden if re.sub(r'\s+', ' ', line) in pdf_lines]


def test_every_figure_cell_hides_its_drawing_code():
    """A cell that makes a numbered figure (mystnb: figure:) folds its code away in the HTML (hide-input or
    remove-input), so the PDF and the handouts leave it out: readers see the picture, not the plotting."""
    shown = []
    for docname, notebook in page_notebooks():
        for cell in notebook.cells:
            tags = set(cell.metadata.get('tags', []))
            if cell.cell_type == 'code' and 'figure' in cell.metadata.get('mystnb', {}) and \
                    not tags & {'hide-input', 'remove-input', 'hide-cell', 'remove-cell'}:
                shown.append((docname, cell.metadata['mystnb']['figure'].get('name')))
    assert not shown, f'figure cells whose drawing code is shown: {shown}'
