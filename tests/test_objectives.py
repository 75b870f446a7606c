"""Every lesson opens with its objectives and what it assumes (book/_ext/objectives.py) and ends with its summary.

The box is tested on a mini-book of two lessons built in this process (HTML and LaTeX, a few seconds); the real
lessons' front matter is checked without a build.
"""

import re
import sys
from pathlib import Path

import pytest

import tangle

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / 'book' / 'appendix'), str(REPO / 'book' / '_ext')]

import _lessons  # noqa: E402  (the folders are put on the path just above)
import objectives  # noqa: E402

TOC = """\
format: jb-book
root: index
parts:
  - caption: Module A
    numbered: true
    chapters:
      - file: m/one
      - file: m/two
  - caption: Appendix
    chapters:
      - file: m/refresher
"""
ONE = """\
---
learning_objectives:
  - "Say what `x` holds."
  - Explain why the loop stops.
assumes:
  - "some Python: `for` loops"
---

(one)=
# Where does x come from?

Prose of one.

## Summary

- x is 1.
"""
TWO = """\
---
learning_objectives:
  - Explain how y follows.
assumes:
  - m/one
  - "sums <m/refresher>"
---

(two)=
# How does y follow?

Prose of two.

## Summary

- y is x + 1.
"""


@pytest.fixture(scope='module')
def mini(tmp_path_factory):
    """A two-lesson book with an appendix page, as Sphinx source with MyST and the extension."""
    root = tmp_path_factory.mktemp('objectives')
    (root / '_toc.yml').write_text(TOC)
    (root / 'conf.py').write_text("extensions = ['myst_parser', 'objectives']\nexclude_patterns = ['out', 'doctrees']\n")
    (root / 'index.md').write_text('# Mini\n\n```{toctree}\n:numbered:\nm/one\nm/two\nm/refresher\n```\n')
    (root / 'm').mkdir()
    (root / 'm' / 'one.md').write_text(ONE)
    (root / 'm' / 'two.md').write_text(TWO)
    (root / 'm' / 'refresher.md').write_text('# Refresher\n\nSums.\n')
    return root


def build(root, builder):
    """Build the mini-book with one builder in this process; return its output folder."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    out = root / 'out' / builder
    with patch_docutils(str(root)), docutils_namespace():
        app = Sphinx(str(root), str(root), str(out), str(root / 'doctrees' / builder), builder,
                     status=None, warning=None, freshenv=True)
        app.build()
    return out


def test_each_lesson_opens_with_its_objectives_and_what_it_assumes(mini):
    """Under the H1, before the prose: the box with the front matter's objectives, code as code, and links."""
    out = build(mini, 'html')
    one = (out / 'm' / 'one.html').read_text(encoding='utf-8')
    two = (out / 'm' / 'two.html').read_text(encoding='utf-8')
    assert one.index('Where does x come from?') < one.index('In this lesson') < one.index('Prose of one')
    assert 'After it you can:' in one and 'Explain why the loop stops.' in one
    assert re.search(r'Say what <code[^>]*><span class="pre">x</span></code> holds\.', one)
    assert re.search(r'It assumes:</strong> some Python: <code[^>]*><span class="pre">for</span></code> loops\.', one)
    assert re.search(r'<a class="reference internal" href="one.html"><span class="[^"]*">Where does x come from\?'
                     r'</span></a> \(lesson 1\); <a class="reference internal" href="refresher.html"><span class="[^"]*">'
                     r'sums</span></a>\.', two)
    assert 'In this lesson' not in (out / 'm' / 'refresher.html').read_text(encoding='utf-8')
    assert 'In this lesson' not in (out / 'index.html').read_text(encoding='utf-8')


def test_the_box_is_document_content_in_the_latex_too(mini):
    """The PDF (and so each handout, a LaTeX build of one lesson) prints the box: it is not HTML-only."""
    out = build(mini, 'latex')
    tex = next(out.glob('*.tex')).read_text(encoding='utf-8')
    body = tex[tex.index('Where does x come from?'):]
    assert body.index('In this lesson') < body.index('Explain why the loop stops.') < body.index('Prose of one')
    assert 'It assumes:' in body and 'Explain how y follows.' in body


def test_the_course_index_shows_the_same_assumptions(mini):
    """The course index reads the same front matter: what each lesson assumes, lessons by number."""
    markdown = _lessons.course_index_markdown(mini)
    assert 'It assumes: some Python: `for` loops.' in markdown
    assert 'It assumes: {doc}`lesson 1 </m/one>`; {doc}`sums </m/refresher>`.' in markdown


# ---------------------------------------------------------------- the real lessons

@pytest.fixture(scope='module')
def lessons():
    """The book's lessons, as the course index and the box read them."""
    return _lessons.lessons(REPO)


def test_every_lesson_states_its_objectives_and_what_it_assumes(lessons):
    """Each lesson's front matter gives its own objectives (none derived) and a non-empty assumes list."""
    assert len(lessons) >= 32
    assert [lesson.number for lesson in lessons if not lesson.objectives_given] == []
    assert [lesson.number for lesson in lessons if not lesson.assumes] == []


def test_assumed_pages_are_pages_of_the_book_and_lessons_come_earlier(lessons):
    """A page a lesson assumes is in _toc.yml, and a lesson it assumes comes before it."""
    pages = set(tangle.read_book(REPO).docnames)
    number = {lesson.docname: lesson.number for lesson in lessons}
    for lesson in lessons:
        for item in lesson.assumes:
            _, page = _lessons.assumed_item(item)
            if page:
                assert page in pages, f'lesson {lesson.number} assumes {page}, which is not a page of _toc.yml'
                assert number.get(page, 0) < lesson.number, f'lesson {lesson.number} assumes the later {page}'


def test_every_lesson_ends_with_its_summary():
    """The last section of every lesson is its Summary (only the "Next" line may follow it)."""
    for _, numbered, docnames in _lessons.toc_parts(REPO):
        for docname in docnames if numbered else []:
            text = tangle.chapter_file(REPO, docname).read_text(encoding='utf-8')
            headings = re.findall(r'^## (.+)$', re.sub(r'^(`{3,}|:{3,}).*?^\1', '', text, flags=re.M | re.S), re.M)
            assert headings and headings[-1] == 'Summary', (docname, headings[-3:])


def test_an_assumes_entry_names_a_page_words_and_a_page_or_plain_text():
    """The three forms of an assumes entry."""
    assert _lessons.assumed_item('book/01-data/01-the-names') == (None, 'book/01-data/01-the-names')
    assert _lessons.assumed_item('logarithms <book/appendix/math-refresher>') == \
        ('logarithms', 'book/appendix/math-refresher')
    assert _lessons.assumed_item('Python: files, `with`') == ('Python: files, `with`', None)


def test_the_book_enables_the_extension():
    """_config.yml lists the extension with the folder it lives in."""
    import yaml
    config = yaml.safe_load((REPO / '_config.yml').read_text(encoding='utf-8'))
    assert (REPO / config['sphinx']['local_extensions']['objectives']).resolve() == Path(objectives.__file__).parent
