"""The notebook downloads and launch buttons of book/_ext/notebooks.py on an executed mini-book (the book's own
notebooks are checked in test_book.py)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'book' / '_ext'))
import notebooks  # noqa: E402
from test_editions import MINI_TOC  # noqa: E402  (the same two-lesson table of contents)

JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'
FLAGS = ['-W', '-n', '--keep-going']

MINI_CONFIG = """\
title: Mini
author: Mini authors
only_build_toc_files: true
exclude_patterns: [_build, out-*]
execute:
  execute_notebooks: force
parse:
  myst_enable_extensions: [colon_fence, dollarmath]
sphinx:
  local_extensions:
    tangle: {repo}
    editions: {ext}
    notebooks: {ext}
  extra_extensions:
    - sphinx_exercise
repository:
  url: "{url}"
  branch: trunk
"""
KERNEL = '---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n'
FIRST = KERNEL + """\
(first)=
# First?

```{code-cell} python
from myst_nb import glue
glue("answer", 6 * 7, display=False)
glue("word", "forty-two", display=False)
```

The answer is {glue:text}`answer` ({glue:text}`word`, {glue:text}`answer:.1f`); see {ref}`second` and
{ref}`the other lesson <second>`. Written out, the role is ``{glue:text}`answer` ``.

```{chunk} setup
a = 1
b = 2
```

On {lines}`setup:2` the program sets `b`, on {lines}`setup` both.

```{note}
NOTETEXT with {glue:text}`word`.
```

```{exercise}
:label: first-ex

Compute EXERCISETEXT.
```

```{solution} first-ex
:class: dropdown

FENCEDSOLUTION is the answer.
```

```{exercise}
:label: first-ex2

Predict GATEDEXERCISE.
```

```{solution-start} first-ex2
:class: dropdown
```

GATEDBEFORE the cell.

```{code-cell} python
print("GATEDCELL")
```

GATEDAFTER the cell.

```{solution-end}
```

AFTERALL text.
"""
SECOND = KERNEL + """\
(second)=
# Second?

```{chunk} sum
c = a + b
```

```{code-cell} python
print(6 * 7)
```

```{show} setup..sum
```
"""


@pytest.fixture(scope='module')
def mini_book(tmp_path_factory):
    """A two-lesson executed mini-book with glued values, chunks, roles, a note, exercises and solutions."""
    root = tmp_path_factory.mktemp('mini-notebooks')
    (root / 'book' / 'm1').mkdir(parents=True)
    (root / '_toc.yml').write_text(MINI_TOC)
    (root / 'index.md').write_text('# The mini book\n\nTwo lessons.\n')
    (root / 'book' / 'm1' / '01-first.md').write_text(FIRST)
    (root / 'book' / 'm1' / '02-second.md').write_text(SECOND)
    (root / 'book' / 'teacher-notes.yml').write_text('')
    (root / 'requirements.txt').write_text('myst-nb==9.9\nsphinx_external_toc==8.8\ngraphviz==7.7\nmatplotlib==6.6\n')
    return root


def build_mini(root, edition, url=''):
    """Build the mini-book's HTML as one edition (None: student), with a repository URL or none."""
    (root / '_config.yml').write_text(MINI_CONFIG.format(repo=REPO, ext=REPO / 'book' / '_ext', url=url))
    out = root / f'out-{edition or "student"}'
    env = {k: v for k, v in os.environ.items() if k != 'MICROGPT_EDITION'}
    if edition:
        env['MICROGPT_EDITION'] = edition
    done = subprocess.run([str(JUPYTER_BOOK), 'build', str(root), '--path-output', str(out), *FLAGS],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / '_build' / 'html'


def markdown_of(notebook):
    """All markdown cells of a notebook, joined."""
    return '\n\n'.join(c.source for c in notebook.cells if c.cell_type == 'markdown')


@pytest.fixture(scope='module')
def student(mini_book):
    return build_mini(mini_book, None)


@pytest.fixture(scope='module')
def teacher(mini_book):
    return build_mini(mini_book, 'teacher', url='https://github.com/some-org/some-book')


def test_each_lesson_offers_a_valid_notebook_with_its_outputs(student):
    """The download menu lists the .ipynb, the file is a valid notebook, and the executed outputs are in it."""
    for page, output in (('01-first', 'GATEDCELL'), ('02-second', '42')):
        html = (student / 'book' / 'm1' / f'{page}.html').read_text()
        assert re.search(rf'href="[./]*_sources/book/m1/{page}\.ipynb"', html), page
        notebook = nbformat.read(student / '_sources' / 'book' / 'm1' / f'{page}.ipynb', as_version=4)
        nbformat.validate(notebook)
        outputs = [o for c in notebook.cells if c.cell_type == 'code' for o in c.outputs]
        if page == '02-second':
            assert any(output in o.get('text', '') for o in outputs)
    assert not (student / '_sources' / 'index.ipynb').exists(), 'a page without code cells got a notebook'


def test_the_notebook_text_is_plain_markdown_with_the_values_and_line_numbers(student):
    """Roles become their text, chunks and {show} become captioned Python blocks, targets and options go."""
    notebook = nbformat.read(student / '_sources' / 'book' / 'm1' / '01-first.ipynb', as_version=4)
    text = markdown_of(notebook)
    assert 'The answer is 42 (forty-two, 42.0); see Second? and\nthe other lesson.' in text
    assert 'Written out, the role is ``{glue:text}`answer` ``.' in text  # a code span is left alone
    assert '*setup \u00b7 microgpt.py lines 1\u20132*\n\n```python\na = 1\nb = 2\n```' in text
    assert 'On line 2 the program sets `b`, on lines 1\u20132 both.' in text
    assert '> **Note.**\n>\n> NOTETEXT with forty-two.' in text
    assert '> **Exercise.**\n>\n> Compute EXERCISETEXT.' in text
    assert '(first)=' not in text and ':label:' not in text and '```{' not in text and '{glue' not in text.replace('``{glue', '')
    second = markdown_of(nbformat.read(student / '_sources' / 'book' / 'm1' / '02-second.ipynb', as_version=4))
    assert '*microgpt.py lines 1\u20133 (from setup to sum)*\n\n```python\na = 1\nb = 2\nc = a + b\n```' in second


def test_student_notebooks_have_no_solutions_and_say_so(student):
    """Fenced solutions and gated ones (which enclose a code cell) are gone; the text around them stays."""
    notebook = nbformat.read(student / '_sources' / 'book' / 'm1' / '01-first.ipynb', as_version=4)
    everything = json.dumps(notebook)
    for gone in ('FENCEDSOLUTION', 'GATEDBEFORE', 'GATEDCELL', 'GATEDAFTER', 'Solution'):
        assert gone not in everything, gone
    text = markdown_of(notebook)
    assert 'GATEDEXERCISE' in text and 'AFTERALL text.' in text
    assert 'solutions are not included' in notebook.cells[0].source


def test_a_first_cell_says_where_the_notebook_runs_and_stops_clearly_outside_the_book(student, tmp_path):
    """Without a repository, the first code cell raises a message naming the lesson's folder."""
    notebook = nbformat.read(student / '_sources' / 'book' / 'm1' / '01-first.ipynb', as_version=4)
    about, check = notebook.cells[0], notebook.cells[1]
    assert about.cell_type == 'markdown' and 'lesson 1 of *Mini*' in about.source and '`book/m1`' in about.source
    done = subprocess.run([sys.executable, '-c', check.source], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and 'Run this notebook from the book/m1 folder of a copy of the book' in done.stderr
    assert notebook.cells[2].source.startswith('# First?')
    inside = REPO / 'book' / '00-big-picture'
    assert subprocess.run([sys.executable, '-c', check.source], cwd=inside).returncode == 0


def test_teacher_notebooks_keep_solutions_and_a_repository_adds_launch_buttons(teacher):
    """Teacher edition: solutions as quoted blocks; with repository.url, Binder and Colab links and a cloning cell."""
    notebook = nbformat.read(teacher / '_sources' / 'book' / 'm1' / '01-first.ipynb', as_version=4)
    text = markdown_of(notebook)
    assert '> **Solution.**\n>\n> FENCEDSOLUTION is the answer.' in text
    assert 'GATEDBEFORE' in text and 'GATEDAFTER' in text and 'GATEDCELL' in json.dumps(notebook)
    check = notebook.cells[1].source
    assert '"--branch", "trunk", "https://github.com/some-org/some-book"' in check
    assert '"myst-nb==9.9", "sphinx_external_toc==8.8", "graphviz==7.7", "matplotlib"' in check
    assert 'os.chdir("microgpt-book/book/m1")' in check
    compile(check, 'first cell', 'exec')
    html = (teacher / 'book' / 'm1' / '01-first.html').read_text().replace('&amp;', '&')
    assert 'https://mybinder.org/v2/gh/some-org/some-book/trunk?urlpath=lab/tree/book/m1/01-first.md' in html
    assert ('https://colab.research.google.com/github/some-org/some-book/blob/gh-pages/_sources/book/m1/01-first.ipynb'
            in html)


def test_launch_buttons_need_a_github_repository():
    """No repository, or one not on GitHub: no launch buttons (Colab and the Binder URL form are GitHub's)."""
    for url in ('', 'https://gitlab.com/a/b', 'github.com/a/b', 'https://github.com/a'):
        app = SimpleNamespace(config=SimpleNamespace(html_theme_options={'repository_url': url}))
        assert notebooks.repository(app) is None, url
    app = SimpleNamespace(config=SimpleNamespace(html_theme_options={'repository_url': 'https://github.com/a/b.git/'}))
    assert notebooks.repository(app) == ('https://github.com/a/b.git', 'a', 'b', 'main')

