"""The editions of book/_ext/editions.py: teaching notes for every lesson, solutions where each
edition wants them (on a mini-book), and the handouts of the real book, one real PDF per lesson."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'book' / '_ext'))

import editions  # noqa: E402  (book/_ext is not a package)

JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'
FLAGS = ['-W', '-n', '--keep-going']
LATEX_TOOLS = ('xelatex', 'latexmk', 'pdfinfo', 'pdftotext')


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


def test_each_lesson_has_a_time_prerequisites_and_three_to_six_points():
    """Suggested time, prerequisites and 1-4 notes: 3 to 6 short bullet points on the page."""
    for docname, entry in editions.read_notes(REPO).items():
        assert set(entry) == {'time', 'prerequisites', 'notes'}, docname
        assert isinstance(entry['time'], str) and re.match(r'^\d+ minutes', entry['time']), docname
        assert entry['prerequisites'] and all(isinstance(p, str) and p.strip() for p in entry['prerequisites']), docname
        notes = entry['notes']
        assert all(isinstance(n, str) and 0 < len(n) <= 300 for n in notes), docname
        assert 3 <= 2 + len(notes) <= 6, docname


def test_prerequisites_name_pages_of_the_book_and_earlier_lessons_only():
    """A prerequisite that names a page is in _toc.yml, and a lesson it names comes before."""
    pages = toc_docnames()
    number = {docname: n for n, docname in editions.lessons(REPO)}
    for docname, entry in editions.read_notes(REPO).items():
        for needed in entry['prerequisites']:
            if re.match(r'^[\w.-]+(/[\w.-]+)+$', needed):
                assert needed in pages, f'{docname}: prerequisite {needed} is not a page of _toc.yml'
                assert number.get(needed, 0) < number[docname], f'{docname}: prerequisite {needed} comes later'


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
latex:
  latex_engine: xelatex
  use_jupyterbook_latex: false
  latex_documents:
    targetname: mini.tex
sphinx:
  local_extensions:
    editions: {ext}
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
"""
MINI_NOTES = """\
book/m1/01-first:
  time: 10 minutes
  prerequisites: [none]
  notes: [FIRSTNOTE, "Misconception: `code` is shown as code."]
book/m1/02-second:
  time: 20 minutes
  prerequisites: [book/m1/01-first, index, some plain text]
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
    (root / 'book' / 'm1' / '01-first.md').write_text(MINI_LESSON.format(label='first', title='First?', n=1, next='second'))
    (root / 'book' / 'm1' / '02-second.md').write_text(MINI_LESSON.format(label='second', title='Second?', n=2, next='second'))
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
    source = (build / 'html' / '_sources' / 'book' / 'm1' / '01-first.md').read_text()
    assert 'EXERCISETEXT1' in source
    assert 'SOLUTIONTEXT1' not in source and '{solution' not in source
    assert not list((build / 'html').rglob('*.ipynb')), 'a notebook download appeared: strip it too'


def test_teacher_html_shows_solutions_open_and_the_teaching_notes(mini_book):
    """Teacher edition: solutions without the dropdown class, notes under the title, links to lessons."""
    _, build = build_mini(mini_book, 'teacher')
    first = (build / 'html' / 'book' / 'm1' / '01-first.html').read_text()
    second = (build / 'html' / 'book' / 'm1' / '02-second.html').read_text()
    assert 'SOLUTIONTEXT1' in first and not re.search(r'class="solution[^"]*dropdown', first)
    assert first.index('Teaching notes') < first.index('Some prose') < first.index('SOLUTIONTEXT1')
    assert 'FIRSTNOTE' in first and 'TEACHERONLY1' in first and '<code class="docutils literal notranslate"><span class="pre">code</span></code>' in first
    assert 'Suggested time:' in second and '20 minutes' in second
    assert re.search(r'<a class="reference internal" href="01-first.html"><span class="doc">lesson 1</span>', second)
    assert re.search(r'href="../../index.html"><span class="doc">The mini book</span>', second)
    assert 'some plain text' in second
    assert '(teacher edition)' in first
    assert 'SOLUTIONTEXT1' in (build / 'html' / '_sources' / 'book' / 'm1' / '01-first.md').read_text()


def test_student_latex_has_the_exercises_but_no_solutions(mini_book):
    """The student PDF's LaTeX keeps every exercise and drops every solution."""
    _, build = build_mini(mini_book, None, '--builder', 'latex')
    tex = (build / 'latex' / 'mini.tex').read_text()
    assert 'EXERCISETEXT1' in tex and 'EXERCISETEXT2' in tex
    assert 'SOLUTIONTEXT' not in tex and 'Teaching notes' not in tex and 'TEACHERONLY' not in tex


def test_handout_latex_is_one_document_per_lesson_titled_by_its_h1(mini_book):
    """Handouts: lesson-01-first.tex and lesson-02-second.tex, exercises in, solutions out, H1 as title."""
    _, build = build_mini(mini_book, 'handouts', '--builder', 'latex')
    texs = sorted(p.name for p in (build / 'latex').glob('*.tex'))
    assert texs == ['lesson-01-first.tex', 'lesson-02-second.tex']
    tex = (build / 'latex' / 'lesson-02-second.tex').read_text()
    assert r'\title{Second?}' in tex and "\\author{Mini \u00b7 lesson 2}" in tex
    assert r'Next: \sphinxstyleemphasis{Second?} (lesson 2).' in (build / 'latex' / 'lesson-01-first.tex').read_text()
    assert 'EXERCISETEXT2' in tex and 'EXERCISETEXT1' not in tex
    assert 'SOLUTIONTEXT' not in tex and r'\sphinxtableofcontents' not in tex


def test_an_unknown_edition_stops_the_build_with_the_choices(mini_book):
    """MICROGPT_EDITION=nonsense is a configuration error that names the editions."""
    done, _ = build_mini(mini_book, 'nonsense')
    assert done.returncode != 0
    assert 'student, teacher, handouts' in done.stdout + done.stderr


# ---------------------------------------------------------------- the handouts of the real book

@pytest.fixture(scope='module')
def handouts(tmp_path_factory):
    """make handouts, once, into a temporary folder: (finished process, folder of the PDFs)."""
    needed = [tool for tool in LATEX_TOOLS if not shutil.which(tool)]
    if needed:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI must build the handouts, but {", ".join(needed)} is missing: .ci/run installs it')
        pytest.skip(f'no {", ".join(needed)} here: see the README for the Debian packages the PDFs need')
    out = tmp_path_factory.mktemp('handouts')
    env = {k: v for k, v in os.environ.items() if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
    # -o: use the virtual environment as it is, without reinstalling it when requirements.txt is newer.
    done = subprocess.run(['make', '--no-print-directory', '-o', '.venv/.installed', 'handouts', f'HANDOUTS={out}'],
                          cwd=REPO, capture_output=True, text=True, timeout=3600, env=env)
    return done, out


def test_make_handouts_builds_cleanly(handouts):
    """The handout build has no warning (-W -n) and every LaTeX run succeeds."""
    done, _ = handouts
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert not re.search(r': (WARNING|ERROR): ', done.stdout + done.stderr)


def test_one_real_pdf_per_lesson(handouts):
    """Exactly one handout per lesson of _toc.yml, each a PDF of at least one page typeset by XeTeX."""
    done, out = handouts
    expected = sorted(editions.handout_name(n, d) + '.pdf' for n, d in editions.lessons(REPO))
    assert sorted(p.name for p in out.glob('*.pdf')) == expected, done.stdout[-2000:]
    for name in expected:
        pdf = out / name
        assert pdf.stat().st_size > 1000 and pdf.read_bytes()[:5] == b'%PDF-', name
        info = subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True, check=True).stdout
        assert int(re.search(r'^Pages:\s+(\d+)', info, re.M).group(1)) >= 1, name
        assert 'xdvipdfmx' in info or 'XeTeX' in info, (name, info)
    log = (out / '_build' / 'latex' / expected[0]).with_suffix('.log').read_text(errors='replace')
    assert 'XeTeX' in log


def test_handouts_carry_the_exercises_but_not_the_solutions(handouts):
    """Each handout with exercises shows them; no handout shows a solution."""
    _, out = handouts
    for n, docname in editions.lessons(REPO):
        source = (REPO / f'{docname}.md').read_text(encoding='utf-8')
        text = ' '.join(subprocess.run(['pdftotext', str(out / (editions.handout_name(n, docname) + '.pdf')), '-'],
                                       capture_output=True, text=True, check=True).stdout.split())
        assert 'Solution to' not in text, docname
        if '{exercise}' in source:
            assert 'Exercise' in text, docname
        for body in re.findall(r'^`{3,}\{solution\}[^\n]*\n(?::[^\n]*\n)*\n(.*?)\n`{3,}$', source, re.M | re.S):
            words = re.sub(r'\{[^}]*\}`[^`]*`|`[^`]*`|\$[^$]*\$', ' ', body).split()[-8:]
            if len(words) == 8:
                assert ' '.join(words) not in text, (docname, words)
