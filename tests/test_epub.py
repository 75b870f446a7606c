"""The EPUB edition (make epub): it builds with warnings as errors, epubcheck finds no error in it, and it holds
the student edition whole: every page of _toc.yml in reading order, listings with microgpt.py's line numbers,
math as MathML, figures, a cover, working internal links, no script and no solution."""

import html
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

import tangle

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'book' / '_ext'))

import editions  # noqa: E402  (book/_ext is not a package)

JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'
FLAGS = ['-W', '-n', '--keep-going']
XHTML = '{http://www.w3.org/1999/xhtml}'
MATHML = '{http://www.w3.org/1998/Math/MathML}'
OPF = '{http://www.idpf.org/2007/opf}'


class Epub:
    """The built .epub, read from its zip: the manifest, the spine and every XHTML page parsed as XML."""

    def __init__(self, path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.names = set(self.zip.namelist())
        opf = ET.fromstring(self.zip.read('content.opf'))
        self.items = {item.get('id'): item for item in opf.iter(f'{OPF}item')}
        self.spine = [self.items[ref.get('idref')].get('href') for ref in opf.iter(f'{OPF}itemref')]
        self.pages = {item.get('href'): ET.fromstring(self.zip.read(unquote(item.get('href'))))
                      for item in self.items.values() if item.get('media-type') == 'application/xhtml+xml'}

    def text(self, href):
        """The raw XHTML of a page."""
        return self.zip.read(unquote(href)).decode('utf-8')


# epub_build, the book's EPUB made once per session in the background, is in conftest.py.


@pytest.fixture(scope='module')
def epub(epub_build):
    """The EPUB, opened; the build must have succeeded."""
    done, path = epub_build
    assert done.returncode == 0 and path.is_file(), done.stdout[-4000:] + done.stderr[-4000:]
    return Epub(path)


def test_epub_builds_with_warnings_as_errors(epub_build):
    """jupyter-book -W -n --keep-going with the epub builder succeeds and writes _build/epub/microgpt-book.epub."""
    done, path = epub_build
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert not re.search(r': (WARNING|ERROR): ', done.stdout + done.stderr)
    assert path.is_file()
    with zipfile.ZipFile(path) as book:  # the container's first entry: mimetype, stored, as OCF requires
        first = book.infolist()[0]
        assert first.filename == 'mimetype' and first.compress_type == zipfile.ZIP_STORED
        assert book.read('mimetype') == b'application/epub+zip'


def epubcheck_command():
    """The command that runs epubcheck, or None. Debian's /usr/bin/epubcheck is an executable jar, which runs
    directly only where binfmt_misc knows jars, so it is run through java."""
    found = shutil.which('epubcheck')
    if not found:
        return None
    if zipfile.is_zipfile(os.path.realpath(found)):
        java = shutil.which('java')
        return [java, '-jar', os.path.realpath(found)] if java else None
    return [found]


def test_epubcheck_finds_no_error(epub):
    """epubcheck (Debian's package) reports no fatal error and no error."""
    command = epubcheck_command()
    if command is None:
        if os.environ.get('CI') == 'true':
            pytest.fail('CI must check the EPUB, but epubcheck (or java) is missing: .ci/run installs it')
        pytest.skip('no epubcheck here: `apt-get install epubcheck` (Debian) to validate the EPUB')
    done = subprocess.run([*command, str(epub.path)], capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    counts = re.search(r'Messages: (\d+) fatals? / (\d+) errors?', report)
    assert counts, report[-3000:]
    assert (counts.group(1), counts.group(2)) == ('0', '0'), report[-6000:]
    assert done.returncode == 0, report[-3000:]


def test_the_spine_is_the_cover_then_every_page_of_the_toc_in_order(epub):
    """The reading order: the cover page, then each page of _toc.yml, in _toc.yml's order; the contents list
    every lesson under its part, numbered as the page's heading is."""
    pages = [href.removesuffix('.xhtml') for href in epub.spine]
    assert pages[0] == 'epub-cover'
    assert pages[1:] == tangle.read_book(REPO).docnames
    nav = epub.text('nav.xhtml')
    for caption, _, _ in editions.parts(REPO):
        assert f'<span>{html.escape(caption)}</span>' in nav, caption
    for number, docname in editions.lessons(REPO):
        h1 = ''.join(epub.pages[f'{docname}.xhtml'].find(f'.//{XHTML}h1').itertext())
        assert h1.startswith(f'{number}. '), (docname, h1)
        assert f'<a href="{docname}.xhtml">{html.escape(h1)}</a>' in nav, docname


def test_listings_carry_the_real_line_numbers_of_microgpt(epub):
    """Every chunk is shown on its page with the numbers and the text its lines have in microgpt.py."""
    from test_book import assert_listings_show_the_program
    assert_listings_show_the_program(lambda docname: epub.text(f'{docname}.xhtml'))


def prose(page):
    """The text of a page outside code and math, the way a reader sees it."""
    skip = {f'{XHTML}pre', f'{XHTML}code', f'{MATHML}math', f'{XHTML}head'}

    def walk(element):
        if element.tag in skip:
            return
        yield element.text or ''
        for child in element:
            yield from walk(child)
            yield child.tail or ''
    return ' '.join(walk(page))


def test_math_is_mathml_and_no_page_needs_a_script(epub):
    """Formulas are MathML (with their LaTeX as alttext), declared in the manifest; no LaTeX is left in the
    prose, and no page has a script or loads MathJax."""
    formulas = 0
    for href, page in epub.pages.items():
        maths = list(page.iter(f'{MATHML}math'))
        formulas += len(maths)
        assert all(m.get('alttext') for m in maths), href
        properties = next(i for i in epub.items.values() if i.get('href') == href).get('properties', '').split()
        assert ('mathml' in properties) == bool(maths), href
        assert not list(page.iter(f'{XHTML}script')), href
        # A .math span or div holds MathML, not LaTeX for a script to typeset.
        for element in page.iter():
            if element.tag in (f'{XHTML}span', f'{XHTML}div') and 'math' in element.get('class', '').split():
                assert element.find(f'{MATHML}math') is not None, (href, ''.join(element.itertext()))
        text = prose(page)
        assert not re.search(r'\\[()\[\]]|\\(frac|sum|beta|log|sqrt|cdot|times|text)\b|\$[^$\s][^$]*\$', text), \
            (href, re.search(r'.{0,60}(\\[a-z(\[]|\$).{0,60}', text))
    assert formulas > 300
    assert not [name for name in epub.names if 'mathjax' in name.lower() or name.endswith('.js')]


def test_every_figure_is_in_the_epub_with_its_alt_text(epub):
    """Each image of a page is a file of the EPUB, listed in the manifest, with alt text; every figure has its
    image and its numbered caption, and every image the build made is shown."""
    manifest = {item.get('href') for item in epub.items.values()}
    shown, figures = set(), 0
    for href, page in epub.pages.items():
        for figure in page.iter(f'{XHTML}figure'):
            figures += 1
            caption = ''.join(figure.find(f'{XHTML}figcaption').itertext()).strip()
            assert figure.find(f'.//{XHTML}img') is not None and re.match(r'Fig\. \d+(\.\d+)? ', caption), href
        for image in page.iter(f'{XHTML}img'):
            source = os.path.normpath(str(PurePosixPath(href).parent / image.get('src')))
            assert source in manifest and source in epub.names, (href, source)
            assert image.get('alt', '').strip(), (href, source)
            shown.add(source)
    assert figures >= 30
    assert {name for name in epub.names if name.startswith('_images/')} <= shown


def png_size(data):
    """(width, height) of a PNG."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', data[16:24])


def test_the_cover_is_a_drawn_image_with_the_title(epub):
    """The manifest's cover-image is a PNG of e-reader size; the cover page shows it, its alt text the title."""
    covers = [item.get('href') for item in epub.items.values() if 'cover-image' in item.get('properties', '').split()]
    assert len(covers) == 1
    width, height = png_size(epub.zip.read(covers[0]))
    assert (width, height) == (1200, 1800)
    image = epub.pages['epub-cover.xhtml'].find(f'.//{XHTML}img')
    assert image.get('src') == covers[0]
    assert image.get('alt') == 'Cover: microgpt, line by line'
    opf = epub.zip.read('content.opf').decode('utf-8')
    assert '<dc:title>microgpt, line by line</dc:title>' in opf


def test_the_student_epub_has_the_exercises_but_no_solution_and_no_folded_code(epub):
    """Exercises are there; no solution is (neither its box nor its words), and nothing folds: the code of the
    cells the HTML folds away is left out, as in the PDF, and their figures stay."""
    everything = ' '.join(' '.join(''.join(page.itertext()).split()) for page in epub.pages.values())
    assert everything.count('Exercise ') > 30
    assert 'Solution to' not in everything and 'Show code cell' not in everything
    for href, page in epub.pages.items():
        assert not list(page.iter(f'{XHTML}details')), href
        assert not [e for e in page.iter() if 'solution' in e.get('class', '').split()], href
    for docname in tangle.read_book(REPO).docnames:
        source = tangle.chapter_file(REPO, docname).read_text(encoding='utf-8')
        fenced = [body for _, body in re.findall(r'^(`{3,}|:{3,})\{solution\}[^\n]*\n(?::[^\n]*\n)*\n(.*?)\n\1$',
                                                  source, re.M | re.S)]
        gated = re.findall(r'^`{3,}\{solution-start\}[^\n]*\n(?::[^\n]*\n)*`{3,}\n(.*?)(?=^`{3,})', source, re.M | re.S)
        assert len(gated) == source.count('{solution-start}'), docname
        for body in fenced + gated:  # a gated solution's prose up to its first code cell
            words = re.sub(r'\{[^}]*\}`[^`]*`|`[^`]*`|\$[^$]*\$', ' ', body).split()[-8:]
            if len(words) == 8:
                assert ' '.join(words) not in everything, (docname, words)
    from test_book import hidden_cell_lines  # distinctive lines of the cells whose code the HTML folds away
    code = {line.strip() for page in epub.pages.values() for pre in page.iter(f'{XHTML}pre')
            for line in ''.join(pre.itertext()).splitlines()}
    assert 'from collections import Counter' in code  # a line of a visible cell: the check sees the code shown
    hidden = hidden_cell_lines()
    assert len(hidden) > 100 and not hidden & code, sorted(hidden & code)[:5]


def test_internal_links_and_resources_resolve_inside_the_epub(epub):
    """Every link between pages, to a figure, a listing, a glossary term or a section lands on a page of the
    EPUB and on an id of that page; every image and stylesheet is in the EPUB; nothing is loaded from elsewhere."""
    ids = {href: {e.get('id') for e in page.iter() if e.get('id')} for href, page in epub.pages.items()}
    links = 0
    for href, page in epub.pages.items():
        for element in page.iter():
            target = element.get('href') if element.tag in (f'{XHTML}a', f'{XHTML}link') else element.get('src')
            if target is None:
                continue
            parts = urlsplit(target)
            if parts.scheme in ('http', 'https', 'mailto'):
                assert element.tag == f'{XHTML}a', (href, target)  # a link out, never a resource
                continue
            assert not parts.scheme, (href, target)
            file = os.path.normpath(str(PurePosixPath(href).parent / unquote(parts.path))) if parts.path else href
            assert file in epub.names, (href, target)
            if parts.fragment:
                assert unquote(parts.fragment) in ids.get(file, ()), (href, target)
            links += element.tag == f'{XHTML}a'
    assert links > 1000
    term_links = sum(epub.text(h).count('std-term') for h in epub.pages)
    assert term_links > 100


# ---------------------------------------------------------------- the editions on a mini-book

MINI_CONFIG = """\
title: Mini
author: Mini authors
only_build_toc_files: true
exclude_patterns: [_build, out-*]
execute:
  execute_notebooks: 'off'
parse:
  myst_enable_extensions: [colon_fence, dollarmath, deflist]   # deflist: the lessons' exit quiz
sphinx:
  local_extensions:
    editions: {ext}
    ebook: {ext}
  extra_extensions:
    - sphinx_exercise
  config:
    project: Mini
    version: "1"
    epub_basename: mini
    epub_cover: [_static/microgpt-cover.png, microgpt-epub-cover.html]
"""
MINI_MATH = '\n\nThe square $a^2$ and the half\n\n$$\n\\frac{{1}}{{2}}\n$$\n\n{extra}\n'


def build_mini_epub(root, edition, extra=''):
    """A two-lesson book (tests/test_editions.py's, with math) as an EPUB of one edition; (process, epub path)."""
    from test_editions import MINI_LESSON, MINI_NOTES, MINI_TOC
    (root / 'book' / 'm1').mkdir(parents=True, exist_ok=True)
    (root / '_config.yml').write_text(MINI_CONFIG.format(ext=REPO / 'book' / '_ext'))
    (root / '_toc.yml').write_text(MINI_TOC)
    (root / 'index.md').write_text('# The mini book\n\nTwo lessons.\n')
    for n, (label, title, following) in enumerate([('first', 'First?', 'second'), ('second', 'Second?', 'second')], 1):
        lesson = MINI_LESSON.format(label=label, title=title, n=n, next=following, assumes='"plain `Python`"') + \
            MINI_MATH.format(extra=extra)
        (root / 'book' / 'm1' / f'0{n}-{label}.md').write_text(lesson)
    (root / 'book' / 'teacher-notes.yml').write_text(MINI_NOTES)
    env = {k: v for k, v in os.environ.items() if k != editions.EDITION_VARIABLE}
    if edition:
        env[editions.EDITION_VARIABLE] = edition
    out = root / f'out-{edition or "student"}'
    done = subprocess.run([str(JUPYTER_BOOK), 'build', str(root), '--path-output', str(out), *FLAGS,
                           '--builder', 'custom', '--custom-builder', 'epub'],
                          capture_output=True, text=True, timeout=600, env=env)
    return done, out / '_build' / 'epub' / 'mini.epub'


def mini_text(path):
    """All the XHTML of a mini EPUB, one string."""
    with zipfile.ZipFile(path) as book:
        return '\n'.join(book.read(name).decode('utf-8') for name in book.namelist() if name.endswith('.xhtml'))


def test_the_student_epub_drops_solutions_and_the_teacher_epub_shows_them(tmp_path):
    """Student (the default): exercises, MathML, no solution, no teacher-only block. Teacher: the solutions
    in the open, the teaching notes, and nothing to click open."""
    done, path = build_mini_epub(tmp_path, None)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    student = mini_text(path)
    assert 'EXERCISETEXT1' in student and 'EXERCISETEXT2' in student and '<math' in student
    assert 'SOLUTIONTEXT' not in student and 'TEACHERONLY' not in student and 'Teaching notes' not in student
    done, path = build_mini_epub(tmp_path, 'teacher')
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    teacher = mini_text(path)
    assert 'SOLUTIONTEXT1' in teacher and 'SOLUTIONTEXT2' in teacher and 'Teaching notes' in teacher
    assert '<details' not in teacher and '<script' not in teacher


def test_a_formula_mathml_cannot_show_fails_the_build(tmp_path):
    """A command latex2mathml does not know is a warning naming it, so -W stops the build: no raw LaTeX."""
    done, _ = build_mini_epub(tmp_path, None, extra='And $\\notacommand x$.')
    assert done.returncode != 0
    assert 'latex2mathml does not know \\notacommand' in done.stdout + done.stderr


def test_the_contents_list_each_lesson_with_its_sections(epub):
    """The e-reader's contents (nav.xhtml) list, under each lesson, its sections with their numbers and links into
    the page."""
    nav = ET.fromstring(epub.zip.read('nav.xhtml'))
    sections = 0
    for item in nav.iter(f'{XHTML}li'):
        link = item.find(f'{XHTML}a')
        below = item.find(f'{XHTML}ol')
        if link is None or below is None:
            continue
        lesson = re.match(r'(\d+)\. ', link.text or '')   # the appendix's pages have no number
        for section in below.iter(f'{XHTML}a'):
            if lesson:
                assert re.match(rf'{lesson.group(1)}\.\d+ \S', section.text or ''), section.text
                sections += 1
            assert section.get('href').startswith(link.get('href') + '#'), section.get('href')
    assert sections > 3 * len(editions.lessons(REPO))


def test_a_function_name_keeps_its_space_and_wrapped_code_hangs(epub):
    """"−log p" keeps the thin space TeX sets after log (MathML would print "logp"), and every line of a listing is
    a block whose wrapped rows hang past its number and indentation."""
    page = next(href for href in epub.pages if 'loss' in href and 'training' in href)
    text = epub.text(page)
    assert '<mi>log</mi><mo>&#x02061;</mo><mspace width="0.1667em"/>' in text or \
        '<mi>log</mi><mo>\u2061</mo><mspace width="0.1667em"' in text
    assert not re.search(r'<mi>log</mi><mi>', text)
    listing = next(href for href in epub.pages if 'linenos' in epub.text(href))
    lines = re.findall(r'<span class="line" style="padding-left:([\d.]+)em;text-indent:-([\d.]+)em">',
                       epub.text(listing))
    assert lines and all(left == hang and float(left) >= 2.4 for left, hang in lines)
    css = epub.zip.read('_static/ebook.css').decode('utf-8')
    assert 'span.line' in css and 'display: none' in css
