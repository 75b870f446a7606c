"""The editions of book/_ext/editions.py: teaching notes for every lesson, solutions and exit quizzes where
each edition wants them (on a mini-book), and the handouts, answer keys and exercise sheets of the real book
(book/_ext/sheets.py), three real PDFs per lesson, numbered as the HTML book numbers the lesson."""

import html

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'book' / '_ext'))

import editions  # noqa: E402  (book/_ext is not a package)
import sheets  # noqa: E402

JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'
FLAGS = ['-W', '-n', '--keep-going']


def lesson_docnames():
    """The docnames of the lessons, in book order."""
    return [docname for _, docname in editions.lessons(REPO)]


def toc_docnames():
    """Every page of _toc.yml, in book order, as the tangle reads it."""
    import tangle
    return tangle.read_book(REPO).docnames


# ---------------------------------------------------------------- the teaching notes

def test_every_lesson_of_the_toc_has_teaching_notes_and_no_note_is_stray():
    """book/teacher-notes.yml has an entry for each of the lessons of _toc.yml, and only for them."""
    lessons = lesson_docnames()
    notes = editions.read_notes(REPO)
    assert len(lessons) >= 32
    assert [d for d in lessons if d not in notes] == [], 'lessons without teaching notes'
    assert sorted(set(notes) - set(lessons)) == [], 'notes for pages that are not lessons of _toc.yml'


def test_each_lesson_has_a_time_and_one_to_four_points():
    """Suggested time and 1-4 notes: 2 to 5 short bullet points on the page. What a lesson assumes is in its
    front matter, shown to every reader (tests/test_objectives.py)."""
    for docname, entry in editions.read_notes(REPO).items():
        assert set(entry) == {'time', 'notes'}, docname
        assert isinstance(entry['time'], str) and re.match(r'^\d+ minutes', entry['time']), docname
        notes = entry['notes']
        assert all(isinstance(n, str) and 0 < len(n) <= 300 for n in notes), docname
        assert 1 <= len(notes) <= 4, docname


def test_handout_names_are_numbered_in_book_order_and_unique():
    """lesson-05-letters-to-numbers: the book's lesson number, then the file name without its prefix."""
    names = [editions.handout_name(n, d) for n, d in editions.lessons(REPO)]
    assert names[4] == 'lesson-05-' + re.sub(r'^\d+-', '', lesson_docnames()[4].rsplit('/', 1)[1])
    assert len(set(names)) == len(names)
    assert names == sorted(names)


# ---------------------------------------------------------------- the editions on a mini-book

MINI_CONFIG = """\
title: Mini
author: Mini authors
only_build_toc_files: true
exclude_patterns: [_build, out-*]
execute:
  execute_notebooks: 'off'
parse:
  myst_enable_extensions: [deflist]   # the exit quiz is a definition list
latex:
  latex_engine: xelatex
  use_jupyterbook_latex: false
  latex_documents:
    targetname: mini.tex
sphinx:
  local_extensions:
    editions: {ext}
    objectives: {ext}
  extra_extensions:
    - sphinx_exercise
"""
MINI_TOC = """\
format: jb-book
root: index
parts:
  - caption: Module 1
    numbered: true
    chapters:
      - file: book/m1/01-first
      - file: book/m1/02-second
"""
MINI_LESSON = """\
---
learning_objectives:
  - "State OBJECTIVE{n} of `code`."
assumes: [{assumes}]
---

({label})=
# {title}

Some prose about the lesson.

```{{only}} teacher
TEACHERONLY{n}
```

```{{exercise}}
:label: {label}-ex

Explain EXERCISETEXT{n}.
```

```{{solution}} {label}-ex
:class: dropdown

SOLUTIONTEXT{n} is the answer.
```

Next: {{ref}}`{next}`.

```{{quiz}}
QUIZQ{n}A about `code`?
: QUIZA{n}A.

QUIZQ{n}B?
: QUIZA{n}B.

QUIZQ{n}C?
: QUIZA{n}C.

QUIZQ{n}D?
: QUIZA{n}D.

QUIZQ{n}E?
: QUIZA{n}E.
```

## Summary

- SUMMARY{n}.
"""
MINI_NOTES = """\
book/m1/01-first:
  time: 10 minutes
  notes: [FIRSTNOTE, "Misconception: `code` is shown as code."]
book/m1/02-second:
  time: 20 minutes
  notes: [SECONDNOTE]
"""


@pytest.fixture(scope='module')
def mini_book(tmp_path_factory):
    """A two-lesson book with one exercise and its dropdown solution per lesson, and teaching notes."""
    root = tmp_path_factory.mktemp('mini')
    (root / 'book' / 'm1').mkdir(parents=True)
    (root / '_config.yml').write_text(MINI_CONFIG.format(ext=REPO / 'book' / '_ext'))
    (root / '_toc.yml').write_text(MINI_TOC)
    (root / 'index.md').write_text('# The mini book\n\nTwo lessons.\n')
    (root / 'book' / 'm1' / '01-first.md').write_text(MINI_LESSON.format(label='first', title='First?', n=1, next='second', assumes='"plain `Python`"'))
    (root / 'book' / 'm1' / '02-second.md').write_text(MINI_LESSON.format(label='second', title='Second?', n=2, next='second', assumes='book/m1/01-first'))
    (root / 'book' / 'teacher-notes.yml').write_text(MINI_NOTES)
    return root


def build_mini(root, edition, *extra):
    """Build the mini-book as one edition (None: the variable unset); return (process, build folder)."""
    out = root / f'out-{edition}-{"-".join(extra).strip("-") or "html"}'
    env = {k: v for k, v in os.environ.items() if k != editions.EDITION_VARIABLE}
    if edition:
        env[editions.EDITION_VARIABLE] = edition
    done = subprocess.run([str(JUPYTER_BOOK), 'build', str(root), '--path-output', str(out), *FLAGS, *extra],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0 or edition == 'nonsense', done.stdout[-3000:] + done.stderr[-3000:]
    return done, out / '_build'


def test_student_html_hides_solutions_in_dropdowns_and_downloads_carry_none(mini_book):
    """Default edition: solutions in closed dropdowns, no notes, and the .md a reader downloads has no solution."""
    _, build = build_mini(mini_book, None)
    page = (build / 'html' / 'book' / 'm1' / '01-first.html').read_text()
    assert re.search(r'class="solution dropdown[^"]*"', page) and 'SOLUTIONTEXT1' in page
    assert 'Teaching notes' not in page and 'FIRSTNOTE' not in page and 'TEACHERONLY1' not in page
    assert 'QUIZ' not in page and 'Exit quiz' not in page, 'a student sees the exit quiz'
    source = (build / 'html' / '_sources' / 'book' / 'm1' / '01-first.md').read_text()
    assert 'EXERCISETEXT1' in source
    assert 'SOLUTIONTEXT1' not in source and '{solution' not in source
    assert 'QUIZ' not in source and '{quiz' not in source
    assert not list((build / 'html').rglob('*.ipynb')), 'a notebook download appeared: strip it too'


def test_teacher_html_shows_solutions_open_and_the_teaching_notes(mini_book):
    """Teacher edition: solutions without the dropdown class, notes under the title, links to lessons."""
    _, build = build_mini(mini_book, 'teacher')
    first = (build / 'html' / 'book' / 'm1' / '01-first.html').read_text()
    second = (build / 'html' / 'book' / 'm1' / '02-second.html').read_text()
    assert 'SOLUTIONTEXT1' in first and not re.search(r'class="solution[^"]*dropdown', first)
    assert first.index('Teaching notes') < first.index('Some prose') < first.index('SOLUTIONTEXT1')
    assert 'FIRSTNOTE' in first and 'TEACHERONLY1' in first and '<code class="docutils literal notranslate"><span class="pre">code</span></code>' in first
    assert 'Suggested time:' in second and '20 minutes' in second and 'Prerequisites' not in second
    # Every edition opens each lesson with its objectives and what it assumes (book/_ext/objectives.py).
    assert first.index('In this lesson') < first.index('OBJECTIVE1') < first.index('Some prose')
    assert re.search(r'It assumes:</strong> <a class="reference internal" href="01-first.html"><span[^>]*>First\?</span></a>'
                     r' \(lesson 1\)\.', second)
    assert '(teacher edition)' in first
    # The exit quiz, questions and answers, after the lesson's last exercise and its solution.
    assert first.index('SOLUTIONTEXT1') < first.index('Exit quiz') < first.index('QUIZQ1A') < first.index('QUIZA1A') \
        < first.index('QUIZQ1E') < first.index('QUIZA1E') < first.index('SUMMARY1')
    assert first.count('Answer:') == sheets.QUIZ_QUESTIONS
    assert 'SOLUTIONTEXT1' in (build / 'html' / '_sources' / 'book' / 'm1' / '01-first.md').read_text()


def test_student_latex_has_the_exercises_but_no_solutions(mini_book):
    """The student PDF's LaTeX keeps every exercise and drops every solution."""
    _, build = build_mini(mini_book, None, '--builder', 'latex')
    tex = (build / 'latex' / 'mini.tex').read_text()
    assert 'EXERCISETEXT1' in tex and 'EXERCISETEXT2' in tex
    assert 'SOLUTIONTEXT' not in tex and 'Teaching notes' not in tex and 'TEACHERONLY' not in tex
    assert 'QUIZ' not in tex and 'Exit quiz' not in tex


def test_handout_latex_is_one_document_per_lesson_titled_by_its_h1(mini_book):
    """Handouts: lesson-01-first.tex and lesson-02-second.tex, exercises in, solutions out, H1 as title;
    beside each, the answer key: the same lesson with its solutions and, first, its teaching notes."""
    _, build = build_mini(mini_book, 'handouts', '--builder', 'latex')
    texs = sorted(p.name for p in (build / 'latex').glob('*.tex'))
    assert texs == ['lesson-01-first-answers.tex', 'lesson-01-first-sheet.tex', 'lesson-01-first.tex',
                    'lesson-02-second-answers.tex', 'lesson-02-second-sheet.tex', 'lesson-02-second.tex']
    tex = (build / 'latex' / 'lesson-02-second.tex').read_text()
    assert r'\title{Second?}' in tex and "\\author{Mini \u00b7 lesson 2}" in tex
    assert r'Next: \sphinxstyleemphasis{Second?} (lesson 2).' in (build / 'latex' / 'lesson-01-first.tex').read_text()
    assert 'EXERCISETEXT2' in tex and 'EXERCISETEXT1' not in tex
    # The handout carries the lesson's objectives and assumptions at its top, and its summary at its end.
    assert tex.index('In this lesson') < tex.index('OBJECTIVE2') < tex.index('Some prose') < tex.index('SUMMARY2')
    assert r'\sphinxstylestrong{It assumes:} \sphinxstyleemphasis{First?} (lesson 1).' in tex
    assert 'plain \\sphinxcode{\\sphinxupquote{Python}}' in (build / 'latex' / 'lesson-01-first.tex').read_text()
    assert 'SOLUTIONTEXT' not in tex and r'\sphinxtableofcontents' not in tex
    assert 'Teaching notes' not in tex and 'SECONDNOTE' not in tex and 'TEACHERONLY' not in tex
    key = (build / 'latex' / 'lesson-02-second-answers.tex').read_text()
    assert r'\title{Answer key: Second?}' in key and "\\author{Mini \u00b7 lesson 2 \u00b7 for teachers}" in key
    body = key[key.index(r'\sphinxmaketitle'):]
    assert body.index('Teaching notes') < body.index('SECONDNOTE') < body.index('Some prose') \
        < body.index('EXERCISETEXT2') < body.index('Solution to Exercise 2.1') < body.index('SOLUTIONTEXT2')
    assert 'SOLUTIONTEXT1' not in key and 'TEACHERONLY' not in key
    # The exit quiz: its questions and answers in the answer key (after the solutions), never in the handout.
    assert body.index('SOLUTIONTEXT2') < body.index('Exit quiz') < body.index('QUIZQ2A') < body.index('QUIZA2A') \
        < body.index('QUIZA2E') < body.index('SUMMARY2')
    assert 'QUIZ' not in tex
    # Running headers, and the edition (\mgptversion: date and commit) as the date and in every footer.
    assert 'Answer key \u00b7 lesson 2' in key and 'Lesson 2 \u00b7 handout' in tex
    for document in (tex, key):
        assert r'\date{\mgptversion}' in document and r'\fancyfoot[L]{\py@HeaderFamily\footnotesize\mgptversion}' in document
        assert 'Lesson 2 \u00b7 exercise sheet' not in document
    # The book's numbering: the second lesson's sections, figures, tables, listings and equations are 2.1, 2.2, ...
    for document in (tex, key):
        assert r'\renewcommand\thesection{2.\arabic{section}}' in document
        assert r'\renewcommand\thefigure{2.\arabic{figure}}' in document and r'\@removefromreset{figure}{section}' in document
        assert r'\renewcommand\theliteralblock{2.\arabic{literalblock}}' in document


def test_the_exercise_sheet_has_the_name_line_objectives_exercises_and_quiz_questions_only(mini_book):
    """lesson-02-second-sheet.tex: its header, a name and date line, the objectives and what the lesson assumes,
    the exercise as the book numbers it with room to answer, the quiz's questions; no prose, solution, answer
    or teaching note."""
    _, build = build_mini(mini_book, 'handouts', '--builder', 'latex')
    sheet = (build / 'latex' / 'lesson-02-second-sheet.tex').read_text()
    body = sheet[sheet.index(r'\begin{document}'):]
    assert 'Lesson 2 \u00b7 exercise sheet' in body and r'\mgptversion' in body
    assert body.index('Name:') < body.index('Date:') < body.index('In this lesson') < body.index('OBJECTIVE2') \
        < body.index('It assumes:') < body.index('EXERCISETEXT2') < body.index('QUIZQ2A') < body.index('QUIZQ2E')
    assert body.count(r'plus 1fill}') == 1 + sheets.QUIZ_QUESTIONS
    assert r'\title{Second?}' in sheet and 'exercise sheet}' in sheet[sheet.index(r'\author{'):]
    for absent in ('Some prose', 'SOLUTION', 'QUIZA', 'Answer:', 'Teaching notes', 'SECONDNOTE', 'SUMMARY2', 'Answer key'):
        assert absent not in body, absent
    assert r'\renewcommand\thesection{2.\arabic{section}}' not in body


def test_an_unknown_edition_stops_the_build_with_the_choices(mini_book):
    """MICROGPT_EDITION=nonsense is a configuration error that names the editions."""
    done, _ = build_mini(mini_book, 'nonsense')
    assert done.returncode != 0
    assert 'student, teacher, handouts' in done.stdout + done.stderr


# ---------------------------------------------------------------- the handouts of the real book

@pytest.fixture(scope='module')
def handouts(handouts_build):
    """make handouts, once per session in the background (conftest.py): (finished process, folder of the PDFs)."""
    return handouts_build


def test_make_handouts_builds_cleanly(handouts):
    """The handout build has no warning (-W -n) and every LaTeX run succeeds."""
    done, _ = handouts
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert not re.search(r': (WARNING|ERROR): ', done.stdout + done.stderr)


def test_one_real_handout_answer_key_and_exercise_sheet_per_lesson(handouts):
    """Exactly one handout, one answer key and one exercise sheet per lesson of _toc.yml, each a PDF of at least
    one page typeset by XeTeX."""
    done, out = handouts
    expected = sorted(name(n, d) + '.pdf' for n, d in editions.lessons(REPO)
                      for name in (editions.handout_name, editions.answer_key_name, sheets.sheet_name))
    assert len(expected) == 3 * len(lesson_docnames())
    assert sorted(p.name for p in out.glob('*.pdf')) == expected, done.stdout[-2000:]
    for name in expected:
        pdf = out / name
        assert pdf.stat().st_size > 1000 and pdf.read_bytes()[:5] == b'%PDF-', name
        info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
        assert int(re.search(r'^Pages:\s+(\d+)', info, re.M).group(1)) >= 1, name
        assert 'xdvipdfmx' in info or 'XeTeX' in info, (name, info)
    log = (out / '_build' / 'latex' / expected[0]).with_suffix('.log').read_text(errors='replace')
    assert 'XeTeX' in log


# The running header and footer of a handout, answer key or exercise sheet (book/_ext/sheets.py): the header's
# words, the page number, the edition.
RUNNING_LINE = re.compile(r'^\s*(Lesson \d+ \u00b7 (handout|exercise sheet)|Answer key \u00b7 lesson \d+|\d+'
                          r'|Edition (of \d{4}-\d\d-\d\d \(commit \w+\)|built from sources outside git))\s*$')


def pdf_text(pdf, *options):
    """The text of a PDF, as pdftotext gives it, without the running header and footer of each page (its words,
    the page number, the edition; pages still end in a form feed): a passage that runs on to the next page
    reads on."""
    text = subprocess.run(['pdftotext', *options, str(pdf), '-'], capture_output=True, text=True, check=True).stdout
    return '\f'.join('\n'.join(line for line in page.split('\n') if not RUNNING_LINE.match(line))
                      for page in text.split('\f'))


def letters(text):
    """Text reduced to its lower-case letters and digits: a PDF's line breaks, hyphenation, quotes, spacing and
    markup do not matter when a passage of the source is looked for in it."""
    return re.sub(r'[^a-z0-9]', '', text.lower())


def solution_bodies(source):
    """The Markdown of every solution of a lesson, fenced ({solution}) or gated (solution-start to solution-end)."""
    fenced = re.findall(r'^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1[ \t]*$', source, re.M | re.S)
    gated = re.findall(r'^(`{3,})\{solution-start\}[^\n]*\n.*?^\1[ \t]*$(.*?)^`{3,}\{solution-end\}', source, re.M | re.S)
    return [body for _, body in fenced + gated]


def plain_runs(body):
    """The runs of plain prose of a solution's Markdown, longest first: the text between its options, code cells,
    code spans, roles, math and links, which the PDF prints as it is written."""
    body = re.sub(r'^:[\w-]+:.*$|^---$|^tags:.*$', ' | ', body, flags=re.M)
    body = re.sub(r'^(`{3,}).*?^\1[ \t]*$', ' | ', body, flags=re.M | re.S)
    body = re.sub(r'\{[^}]*\}`[^`]*`|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|[\[\]*_]', ' | ', body, flags=re.S)
    return sorted((' '.join(run.split()) for run in body.split('|')), key=len, reverse=True)


def test_handouts_carry_the_exercises_and_answer_keys_every_solution(handouts):
    """Each handout with exercises shows them and no solution; its answer key shows every solution of the lesson
    (its title, and the longest run of its prose as the build printed it)."""
    _, out = handouts
    for n, docname in editions.lessons(REPO):
        source = (REPO / f'{docname}.md').read_text(encoding='utf-8')
        handout = pdf_text(out / (editions.handout_name(n, docname) + '.pdf'))
        key = pdf_text(out / (editions.answer_key_name(n, docname) + '.pdf'))
        bodies = solution_bodies(source)
        assert len(bodies) == len(re.findall(r'^`{3,}\{solution(-start)?\}', source, re.M)), docname
        assert 'Solution to' not in handout, docname
        assert ' '.join(key.split()).count('Solution to Exercise') == len(bodies), docname
        if '{exercise}' in source:
            assert 'Exercise' in handout, docname
        for body in bodies:
            run = plain_runs(body)[0]
            assert len(run.split()) >= 4, (docname, body)
            assert letters(run) in letters(key), (docname, run)
            assert letters(run) not in letters(handout), (docname, run)


def test_answer_keys_open_with_the_teaching_notes(handouts):
    """The first page of each answer key has the lesson's teaching notes, the handout none."""
    _, out = handouts
    notes = editions.read_notes(REPO)
    for n, docname in editions.lessons(REPO):
        first_page = letters(pdf_text(out / (editions.answer_key_name(n, docname) + '.pdf'), '-l', '1'))
        entry = notes[docname]
        for text in ['Answer key', 'Teaching notes', 'Suggested time: ' + entry['time'], *entry['notes']]:
            assert letters(text) in first_page, (docname, text)
        assert letters('Teaching notes') not in letters(pdf_text(out / (editions.handout_name(n, docname) + '.pdf'))), docname


def test_no_pdf_prints_the_code_of_a_cell_the_html_hides(handouts):
    """Handouts and answer keys leave out the code of hide-input, hide-cell and remove-input cells, as the book's
    PDF does (test_book's check, on the text of all of them: a visible cell's code is in one)."""
    from test_book import hidden_code_printed
    _, out = handouts
    texts = {pdf.name: pdf_text(pdf, '-layout') for pdf in sorted(out.glob('lesson-*.pdf'))}
    assert len(texts) == 3 * len(lesson_docnames())
    printed = hidden_code_printed('\n'.join(texts.values()))
    assert not printed, [(name, line) for line in printed for name, text in texts.items() if line in text][:5]


CAPTIONED = r'\b(Fig\.|Listing|Table|Exercise)\s+(\d+(?:\.\d+)+)'


def html_numbering(page):
    """The numbers the HTML book shows in a page's article: its headings [(19.1, title), ...] under the H1 and
    the set of numbered things it names, {('Fig.', '19.1'), ('Exercise', '19.2'), ...}, captions and references."""
    article = page[page.index('<article'):page.index('</article>')]
    def text(part, tag=' '):
        return ' '.join(html.unescape(re.sub(r'<[^>]+>', tag, part)).replace('\xa0', ' ').split())

    headings = []
    for _, inner in re.findall(r'<h([2-6])[^>]*>(.*?)</h\1>', article, re.S):
        match = re.match(r'^(\d+(?:\.\d+)+)\.? (.*?)#?$', text(inner, ''))
        assert match, inner
        headings.append((match.group(1), match.group(2).strip()))
    return headings, set(re.findall(CAPTIONED, text(article)))


def test_handouts_and_answer_keys_number_everything_as_the_html_book_does(handouts, html_build):
    """Sections 19.1, Listing 19.1, Fig. 19.1, Exercise 19.2: every heading of each lesson is printed with the
    number the student HTML gives it, and the numbered things an answer key names are exactly those the HTML
    page names (a handout: some of them, as it has no solutions)."""
    _, out = handouts
    _, site = html_build
    kinds = set()
    for n, docname in editions.lessons(REPO):
        headings, named = html_numbering((site / f'{docname}.html').read_text(encoding='utf-8'))
        assert all(number.split('.')[0] == str(n) for number, _ in headings), (docname, headings)
        for pdf, solutions in ((editions.handout_name(n, docname), False), (editions.answer_key_name(n, docname), True)):
            text = ' '.join(pdf_text(out / f'{pdf}.pdf').split())
            missing = [(number, title) for number, title in headings if f'{number} {title}' not in text]
            assert not missing, (pdf, missing)
            printed = set(re.findall(CAPTIONED, text))
            assert printed == named if solutions else printed <= named, (pdf, printed ^ named)
        kinds |= {kind for kind, _ in named}
    assert kinds >= {'Fig.', 'Listing', 'Exercise'}


# ---------------------------------------------------------------- exercise sheets, exit quizzes, print wording

def exercise_bodies(source):
    """The Markdown of every exercise of a lesson ({exercise} fenced with backticks or colons)."""
    return [body for _, body in re.findall(r'^(`{3,}|:{3,})\{exercise\}[^\n]*\n(.*?)^\1[ \t]*$', source, re.M | re.S)]


def pages(pdf):
    """The text of each page of a PDF (pdftotext, pages split at their form feeds), running header included."""
    text = subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split('\f') if page.strip()]


def page_count(pdf):
    info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r'^Pages:\s+(\d+)', info, re.M).group(1))


def test_every_exercise_sheet_fits_two_pages_with_name_line_objectives_and_every_exercise(handouts):
    """Each lesson's sheet: at most two pages, each headed "Lesson N · exercise sheet" and footed by the edition;
    a name and date line; every objective of the lesson (its front matter); every exercise of the lesson, numbered
    as the handout numbers it, with its text; the exit quiz's five questions; no solution, no quiz answer."""
    sys.path.insert(0, str(REPO / 'book' / 'appendix'))
    import _lessons
    objectives = {lesson.docname: lesson.objectives for lesson in _lessons.lessons(REPO)}
    counts = {}
    for n, docname in editions.lessons(REPO):
        sheet = handouts[1] / (sheets.sheet_name(n, docname) + '.pdf')
        counts[n] = page_count(sheet)
        assert 1 <= counts[n] <= 2, (docname, counts[n])
        for page in pages(sheet):
            assert f'Lesson {n} \u00b7 exercise sheet' in page and 'Edition ' in page, (docname, page[:300])
        text = pdf_text(sheet)
        flat = ' '.join(text.split())
        assert re.search(r'Name:.*Date:', flat), docname
        for objective in objectives[docname]:
            assert letters(objective) in letters(text), (docname, objective)
        source = (REPO / f'{docname}.md').read_text(encoding='utf-8')
        handout = ' '.join(pdf_text(handouts[1] / (editions.handout_name(n, docname) + '.pdf')).split())
        numbers = re.findall(rf'Exercise {n}\.\d+', flat)
        bodies = exercise_bodies(source)
        assert len(numbers) == len(set(numbers)) == len(bodies), (docname, numbers)
        assert set(numbers) == set(re.findall(rf'Exercise {n}\.\d+', handout)), docname
        layout = letters(pdf_text(sheet, '-layout'))   # (pdftotext's reading order, once in a while, is not the line's)
        for body in bodies:
            run = plain_runs(body)[0]
            assert letters(run) in letters(text) or letters(run) in layout, (docname, run)
        for body in solution_bodies(source):
            assert letters(plain_runs(body)[0]) not in letters(text), docname
        assert 'Solution to' not in flat and 'Answer:' not in flat and 'Teaching notes' not in flat, docname
        if '{quiz}' in source:
            assert 'Exit quiz' in flat and all(f'{q}. ' in flat for q in range(1, sheets.QUIZ_QUESTIONS + 1)), docname
    print('sheet pages:', counts)


def test_every_page_of_every_answer_key_says_answer_key(handouts):
    """The running header marks each page of an answer key, so a loose page is never handed out by mistake."""
    _, out = handouts
    for n, docname in editions.lessons(REPO):
        key = out / (editions.answer_key_name(n, docname) + '.pdf')
        found = pages(key)
        assert len(found) == page_count(key), key.name
        for i, page in enumerate(found, 1):
            assert f'Answer key \u00b7 lesson {n}' in page and 'Edition ' in page, (key.name, i)
        handout = out / (editions.handout_name(n, docname) + '.pdf')
        assert all(f'Lesson {n} \u00b7 handout' in page and 'Edition ' in page for page in pages(handout)), handout.name


WEB_ONLY = re.compile(r'\bclick|\bhover|open the solution|show it\)', re.I)


def test_no_print_edition_uses_web_only_words(handouts):
    """Handouts, answer keys and exercise sheets never ask to click, hover or open a solution (the book's PDF:
    test_book.py)."""
    _, out = handouts
    found = {pdf.name: WEB_ONLY.findall(' '.join(pdf_text(pdf).split())) for pdf in sorted(out.glob('lesson-*.pdf'))}
    assert len(found) == 3 * len(lesson_docnames())
    assert {name: words for name, words in found.items() if words} == {}


def test_each_answer_key_has_the_five_answers_of_its_exit_quiz(handouts):
    """The answer key of every lesson ends its exercises with the exit quiz: five questions, each answered."""
    _, out = handouts
    missing = []
    for n, docname in editions.lessons(REPO):
        key = ' '.join(pdf_text(out / (editions.answer_key_name(n, docname) + '.pdf')).split())
        quiz = key[key.find('Exit quiz'):] if 'Exit quiz' in key else ''
        if quiz.count('Answer:') != sheets.QUIZ_QUESTIONS:
            missing.append(n)
        handout = ' '.join(pdf_text(out / (editions.handout_name(n, docname) + '.pdf')).split())
        assert 'Exit quiz' not in handout and 'Answer:' not in handout, docname
    assert missing == [], f'lessons whose answer key has no exit quiz of {sheets.QUIZ_QUESTIONS} answers'


def test_every_lesson_has_an_exit_quiz_of_five_questions_with_answers():
    """Each lesson's source has one {quiz} block: five questions, each followed by its answer (": ...")."""
    missing = []
    for n, docname in editions.lessons(REPO):
        source = (REPO / f'{docname}.md').read_text(encoding='utf-8')
        blocks = re.findall(r'^(`{3,})\{quiz\}[^\n]*\n(.*?)^\1[ \t]*$', source, re.M | re.S)
        answers = re.findall(r'^: ', blocks[0][1], re.M) if len(blocks) == 1 else []
        if len(answers) != sheets.QUIZ_QUESTIONS:
            missing.append(n)
    assert missing == [], 'lessons without an exit quiz of five answered questions'
