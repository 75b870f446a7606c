"""Claims are checked like numbers: every `# claim:` in a hidden cell quotes a sentence still on its page.

The convention (README, "Writing a lesson"): a sentence about the program, its data or its
behaviour is either glued from a computed value or backed by a code cell whose lines
`# claim: <words from the prose>` are followed by asserts; the build runs the asserts, so it fails
the day the claim stops being true. These tests keep the two halves together: the quoted words
must still be in the page's prose (or the assert checks a sentence nobody reads any more), each
claim cell must assert something, and every lesson of modules 0-5 checks at least one claim.
"""

import re

import pytest
from myst_nb.core.read import read_myst_markdown_notebook

import tangle

CLAIM = re.compile(r'^\s*# claim: (.+?)\s*$', re.MULTILINE)


def collapse(text):
    """Runs of whitespace (line breaks included) as one space."""
    return re.sub(r'\s+', ' ', text).strip()


def pages():
    """(docname, text) of every page of the book, in _toc.yml order."""
    book = tangle.read_book(tangle.ROOT)
    return [(d, tangle.chapter_file(tangle.ROOT, d).read_text(encoding='utf-8')) for d in book.docnames]


def claims(text):
    """(claimed words, the cell's source) for every claim in a page; and the page's prose, collapsed."""
    notebook = read_myst_markdown_notebook(text)
    prose = collapse(' '.join(c.source for c in notebook.cells if c.cell_type == 'markdown'))
    found = [(collapse(m.group(1)), c.source) for c in notebook.cells if c.cell_type == 'code'
             for m in CLAIM.finditer(c.source)]
    return found, prose


PAGES = pages()


@pytest.mark.parametrize('docname,text', PAGES, ids=[d for d, _ in PAGES])
def test_every_claim_quotes_words_still_in_its_page_and_asserts_them(docname, text):
    """The quoted words (4 or more) are in the page's prose, and the cell holding them asserts."""
    found, prose = claims(text)
    for words, source in found:
        assert len(words.split()) >= 4, f'{docname}: claim too short to find again: {words!r}'
        assert words in prose, f'{docname}: claimed words no longer in the page: {words!r}'
        assert re.search(r'^\s*assert\b', source, re.MULTILINE), f'{docname}: a claim cell without assert: {words!r}'


def test_every_lesson_of_modules_0_to_5_checks_its_claims():
    """Each lesson (not the landing page or appendix) has at least one asserted claim."""
    lessons = [(d, t) for d, t in PAGES if re.match(r'book/0[0-5]-', d)]
    assert len(lessons) == 32
    unchecked = [d for d, t in lessons if not claims(t)[0]]
    assert not unchecked, f'lessons without a single # claim: cell: {unchecked}'


def test_a_claim_whose_words_left_the_page_is_caught():
    """The check is real: the claimed words must be in the prose, not merely in the cell."""
    page = ('# Title\n\nMost names end in a\nvowel.\n\n```{code-cell} python\n:tags: [remove-cell]\n'
            '# claim: names end in a vowel\nassert True\n```\n')
    (words, _), = claims(page)[0]
    assert words in claims(page)[1]  # found across the line break
    assert words not in claims(page.replace('a\nvowel', 'a\nconsonant'))[1]
