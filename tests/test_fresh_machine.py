"""A machine with only Python, venv and make: the graph figures draw without a system Graphviz."""

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / 'jupyter-book'

PAGE = '''\
---
jupytext: {text_representation: {format_name: myst}}
kernelspec: {name: python3, display_name: Python 3}
---
# Graphs

```{code-cell} python
import os, shutil
print("dot runs", os.path.realpath(shutil.which("dot")))
```

```{code-cell} python
import graphviz
from IPython.display import Image
chain = graphviz.Digraph(graph_attr={"rankdir": "LR"}, node_attr={"shape": "box", "fontname": "Helvetica"})
chain.edge("x", "u", label=" du/dx = 3")
chain.edge("u", "y")
Image(chain.pipe(format="png"))
```

```{code-cell} python
ring = graphviz.Digraph(engine="circo")
for a, b in ["ab", "bc", "ca"]:
    ring.edge(a, b)
Image(ring.pipe(format="png"))
```

```{code-cell} python
chain
```
'''


def test_graph_figures_build_with_no_dot_on_the_system_path(tmp_path):
    """With a PATH that holds no program at all, a page's graphviz cells still give PNG and SVG pictures."""
    (tmp_path / '_config.yml').write_text(
        'title: graphs\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: force\n'
        'sphinx:\n  local_extensions:\n'
        f'    graphviz_dot: {REPO / "book" / "_ext"}\n')
    (tmp_path / '_toc.yml').write_text('format: jb-book\nroot: graphs\n')
    (tmp_path / 'graphs.md').write_text(PAGE)
    empty = tmp_path / 'empty-path'
    empty.mkdir()
    env = {**os.environ, 'PATH': str(empty)}
    assert shutil.which('dot', path=env['PATH']) is None
    done = subprocess.run([str(JUPYTER_BOOK), 'build', str(tmp_path), '-W', '-n', '--keep-going'],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = (tmp_path / '_build' / 'html' / 'graphs.html').read_text(encoding='utf-8')
    assert 'ExecutableNotFound' not in page and 'graphviz.graphs.Digraph' not in page
    program = (Path(sys.executable).parent / 'graphviz-pure').resolve()
    assert f'dot runs {program}' in page
    pictures = re.findall(r'src="data:image/png;base64,([^"]+)"', page) + \
        [(tmp_path / '_build' / 'html' / src).read_bytes()
         for src in re.findall(r'<img[^>]*src="(_images/[^"]+\.png)"', page)]
    pngs = [base64.b64decode(p) if isinstance(p, str) else p for p in pictures]
    assert len(pngs) == 2 and all(png.startswith(b'\x89PNG') and len(png) > 1000 for png in pngs)
    svgs = [(tmp_path / '_build' / 'html' / src).read_text(encoding='utf-8')
            for src in re.findall(r'<img[^>]*src="(_images/[^"]+\.svg)"', page)]
    assert len(svgs) == 1 and '<svg' in svgs[0] and 'du/dx = 3</text>' in svgs[0] and '(graphviz-pure)' in svgs[0]


def test_the_licence_names_both_licences_and_the_book_states_them():
    """LICENSE: MIT for the code, CC BY-SA 4.0 for text and figures; the landing page, the PDF's title page
    (in _config.yml) and the README say so, and the lesson that introduces the data names its origin and licence."""
    licence = (REPO / 'LICENSE').read_text(encoding='utf-8')
    assert 'Permission is hereby granted, free of charge' in licence and 'CC BY-SA 4.0' in licence
    assert 'creativecommons.org/licenses/by-sa/4.0/legalcode' in licence and 'makemore' in licence
    for path in ['book/index.md', '_config.yml', 'README.md']:
        text = ' '.join((REPO / path).read_text(encoding='utf-8').split())
        assert 'CC BY-SA 4.0' in text and 'MIT licence' in text, path
    names = ' '.join((REPO / 'book/01-data/01-the-names.md').read_text(encoding='utf-8').split())
    assert 'makemore' in names and 'MIT licence' in names


def test_the_citation_file_is_valid_citation_file_format():
    """CITATION.cff has what the Citation File Format 1.2.0 requires, and the licences of LICENSE."""
    import yaml
    cff = yaml.safe_load((REPO / 'CITATION.cff').read_text(encoding='utf-8'))
    assert cff['cff-version'] == '1.2.0' and cff['message'] and cff['title'] == 'microgpt, line by line'
    assert all('name' in a or 'family-names' in a for a in cff['authors'])
    assert cff['license'] == 'CC-BY-SA-4.0' and 'MIT licence' in cff['message'] and 'CC BY-SA 4.0' in cff['message']
    assert {ref['title'] for ref in cff['references']} == {'microgpt', 'makemore'}


WORKFLOW = REPO / '.github' / 'workflows' / 'book.yml'
ACTIONLINT = Path(sys.executable).parent / 'actionlint'


def actionlint(folder):
    """Run the pinned actionlint (requirements.txt) on the workflows of folder; the finished process."""
    return subprocess.run([str(ACTIONLINT), '-no-color'], cwd=folder, capture_output=True, text=True, timeout=120)


def test_the_publishing_workflow_passes_actionlint_and_runs_the_makefile_targets(tmp_path):
    """actionlint finds nothing; the build job runs make inpage, test, pdf, epub, then book (as .ci/run: inpage
    before test), and Pages gets _build/html."""
    import yaml
    done = actionlint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding='utf-8'))
    assert workflow[True]['push']['branches'] == ['main']   # YAML 1.1 reads the key `on` as True
    steps = workflow['jobs']['build']['steps']
    runs = [step['run'] for step in steps if 'run' in step]
    assert [run for run in runs if run.startswith('make ')] == ['make inpage', 'make test', 'make pdf', 'make epub', 'make book']
    assert 'sudo --preserve-env=CHROMIUM bash .ci/packages' in runs
    upload = next(step for step in steps if step.get('uses', '').startswith('actions/upload-pages-artifact@'))
    assert upload['with']['path'] == '_build/html'
    assert any(step.get('uses', '').startswith('actions/deploy-pages@') for step in workflow['jobs']['publish']['steps'])
    # The check can fail: a step that names no action and runs nothing is an error.
    broken = tmp_path / '.github' / 'workflows'
    broken.mkdir(parents=True)
    (broken / 'book.yml').write_text(WORKFLOW.read_text(encoding='utf-8').replace('- name: PDF\n', '- name: PDF\n        shell: nosuchshell\n'))
    assert actionlint(tmp_path).returncode != 0


def test_the_landing_page_links_the_pdf_and_the_epub_only_when_they_were_built(tmp_path):
    """book/_ext/downloads.py: no paragraph without the files; with them, links to copies inside the site."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'conf.py').write_text(f"import sys\nsys.path.insert(0, {str(REPO / 'book' / '_ext')!r})\n"
                                 "extensions = ['downloads']\nroot_doc = 'book/index'\n")
    (src / 'book').mkdir()
    (src / 'book' / 'index.rst').write_text('Home\n====\n\nWelcome.\n')   # in a folder, as the book's
    build = tmp_path / '_build'

    def site():
        with patch_docutils(str(src)), docutils_namespace():
            app = Sphinx(str(src), str(src), str(build / 'html'), str(build / '.doctrees'), 'html',
                         status=None, warning=None)
            app.build()
        return (build / 'html' / 'book' / 'index.html').read_text(encoding='utf-8')

    assert 'books-other-formats' not in site()
    (build / 'latex').mkdir()
    (build / 'latex' / 'microgpt-book.pdf').write_bytes(b'%PDF-1.5 ' + b'x' * 2_000_000)
    page = site()   # nothing in the sources changed: the landing page is read again all the same
    assert 'href="../_downloads/microgpt-book.pdf">PDF (2.0 MB)</a>' in page and '>EPUB (' not in page
    (build / 'epub').mkdir()
    (build / 'epub' / 'microgpt-book.epub').write_bytes(b'PK' + b'y' * 500_000)
    page = site()
    assert 'href="../_downloads/microgpt-book.epub">EPUB (0.5 MB)</a>' in page
    assert (build / 'html' / '_downloads' / 'microgpt-book.epub').read_bytes().startswith(b'PK')
    assert (build / 'html' / '_downloads' / 'microgpt-book.pdf').stat().st_size == 2_000_009
