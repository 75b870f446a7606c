"""Sphinx extension: the lesson pages' code cells run in the reader's browser (issue 14).

Python is Pyodide's core (CPython compiled to WebAssembly), pinned in book/_ext/inpage/package-lock.json
and installed there by `make inpage` (npm ci); this extension copies its five core files into the site
(_inpage/pyodide/), so nothing is fetched from another host. The page loads it lazily, in a Web Worker,
the first time a reader presses Run (book/_ext/inpage/static/inpage.js and inpage-worker.js).

What the build writes beside the pages, in _inpage/:
    cells/<page>.json   every code cell of the executed page, in order: its source, whether the page shows
                        it, and whether it runs only in Jupyter (it draws with matplotlib or graphviz)
    tangle.py           the page's tangle module: load, Chunk, Book, line_span and the constants are copied
                        from tangle.py's own source, so the page runs the program exactly as the build does;
                        read_book, trained_run, timings and names_file read the files below
    book.json           the chunks of the program (what read_book returns), and microgpt.py
    run.json            the build's one cached training run (trained_run(): weights, snapshots, losses, samples)
    timings.json        the build's one timing (timings())
    names.txt           the names data the build used (makemore's, MIT licence)
    NOTICE.txt          what the folder redistributes and under which licences
    pagert.py           the runner of cells and the playground's functions
    labels.json         the title of each {ref} label, for the Markdown tables cells display
    yaml/               PyYAML's pure-Python modules (MIT licence), copied from the build's Python: a cell reads _toc.yml
    files.json          what the worker fetches and where it puts each file (/book is the checkout)

Without node_modules/pyodide (a machine with only Python) or in the teacher edition, nothing is added: the
pages have no Run buttons. Listed under sphinx.local_extensions in _config.yml.
"""

import ast
import json
import re
import shutil
from pathlib import Path

from sphinx.util import logging

import editions

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent / 'inpage'
PYODIDE = HERE / 'node_modules' / 'pyodide'
CORE_FILES = ('pyodide.js', 'pyodide.mjs', 'pyodide.asm.js', 'pyodide.asm.wasm', 'python_stdlib.zip',
              'pyodide-lock.json')
OUT = '_inpage'
# What the page's tangle takes from tangle.py itself, definition for definition.
SHARED = ('PROGRAM', 'TOC', 'TRAINING_CHUNK', 'SNAPSHOT_STEPS', 'Chunk', 'Book', 'load', '_run_chunks',
          'line_span', 'resolve_lines')
# Files of the book a cell reads (beside tangle.py, as in a checkout).
BOOK_FILES = ('_toc.yml', '_config.yml')
# Imports the page's Python cannot serve: the drawing libraries (not in Pyodide's core) and subprocess (a
# browser starts no other process).
JUPYTER_ONLY = {'matplotlib': 'it draws with matplotlib', 'graphviz': 'it draws with graphviz',
                'subprocess': 'it starts other Python processes'}
PAGE_TANGLE_HEADER = '''"""tangle, as the book's pages have it in the browser (written by book/_ext/inpage.py).

load(), Chunk, Book and line_span are tangle.py's own definitions, copied at build time; the program,
the trained run, the timings and the names come from files the build wrote beside the pages.
"""

import bisect
import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / '_inpage'
_CACHE = {}


def _json(name):
    if name not in _CACHE:
        _CACHE[name] = json.loads((DATA / name).read_text(encoding='utf-8'))
    return _CACHE[name]


def names_file(root=ROOT):
    """The names data the build used."""
    return DATA / 'names.txt'


def read_book(root=ROOT, texts=None):
    """The chunks of the program as the build read them."""
    book = _json('book.json')
    return Book(Path(root), book['docnames'], [Chunk(**c) for c in book['chunks']])


def trained_run(root=ROOT, data=None):
    """The build's one cached training run."""
    return _json('run.json')


def timings(root=ROOT, data=None):
    """The build's one timing of the program."""
    return _json('timings.json')

'''


def enabled(app):
    """Only the student edition's HTML site (the builder named html: not the EPUB, whose builder is html too)."""
    return (app.builder.name == 'html' and editions.edition(app) != 'teacher'
            and all((PYODIDE / name).is_file() for name in CORE_FILES))


def page_tangle(tangle_source):
    """The page's tangle.py: the header above, then SHARED copied from tangle.py's source."""
    tree = ast.parse(tangle_source)
    lines = tangle_source.splitlines(keepends=True)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            continue
        if name in SHARED:
            first = min([node.lineno] + [d.lineno for d in getattr(node, 'decorator_list', [])])
            found[name] = ''.join(lines[first - 1:node.end_lineno])
    missing = [name for name in SHARED if name not in found]
    if missing:
        raise RuntimeError(f'tangle.py no longer defines {missing}, which the page runtime copies')
    return PAGE_TANGLE_HEADER + '\n\n'.join(found[name] for name in SHARED) + '\n'


def jupyter_only(cell):
    """Why a cell cannot run in the page, or ''."""
    source = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
    for module, why in JUPYTER_ONLY.items():
        if re.search(rf'^\s*(import\s[\w., ]*\b{module}\b|from\s+{module}\b)', source, re.M):
            return why
    for output in cell.get('outputs', []):
        if any(kind.startswith('image/') for kind in output.get('data', {})):
            return 'it draws a figure'
    return ''


def page_cells(notebook):
    cells = []
    for cell in notebook['cells']:
        if cell['cell_type'] != 'code':
            continue
        tags = cell.get('metadata', {}).get('tags', [])
        source = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
        cells.append({'source': source, 'shown': 'remove-cell' not in tags,
                      'input': 'remove-cell' not in tags and 'remove-input' not in tags,
                      'raises': 'raises-exception' in tags, 'jupyter_only': jupyter_only(cell)})
    return cells


def on_builder_inited(app):
    if app.builder.name != 'html':
        return
    if not enabled(app):
        if editions.edition(app) != 'teacher':
            logger.info('inpage: no Pyodide in book/_ext/inpage/node_modules (make inpage): no Run buttons')
        return
    app.config.html_static_path.append(str(HERE / 'static'))
    app.add_js_file('inpage.js', defer='defer')
    app.add_css_file('inpage.css')


def on_html_page_context(app, pagename, templatename, context, doctree):
    if not enabled(app) or doctree is None:
        return
    executed = Path(app.outdir).parent / 'jupyter_execute' / f'{pagename}.ipynb'
    if pagename == 'book/appendix/playground':
        cells = []
    elif executed.is_file() and app.env.metadata[pagename].get('kernelspec'):
        cells = page_cells(json.loads(executed.read_text(encoding='utf-8')))
    else:
        return
    target = Path(app.outdir, OUT, 'cells', f'{pagename}.json')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({'page': pagename, 'cells': cells}, ensure_ascii=False), encoding='utf-8')
    pathto = context['pathto']
    context['metatags'] = context.get('metatags', '') + (
        f'\n<meta name="microgpt-inpage" content="{pathto(f"{OUT}/cells/{pagename}.json", 1)}"'
        f' data-root="{pathto(OUT, 1)}/" data-page="{pagename}">')


def book_json(book):
    """What the page's read_book() returns, as JSON: the chunks (tangle.Chunk's fields) and the docnames."""
    chunks = [{'name': c.name, 'path': c.path, 'docname': c.docname, 'body_line': c.body_line,
               'lines': c.lines, 'start': c.start} for c in book.chunks]
    return {'docnames': book.docnames, 'chunks': chunks}


def on_build_finished(app, exception):
    if exception or not enabled(app):
        return
    import tangle
    out = Path(app.outdir, OUT)
    (out / 'pyodide').mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        shutil.copyfile(PYODIDE / name, out / 'pyodide' / name)
    root = Path(app.srcdir)
    book = tangle.read_book(root)
    (out / 'book.json').write_text(json.dumps(book_json(book)), encoding='utf-8')
    (out / 'microgpt.py').write_text(book.text, encoding='utf-8')
    (out / 'tangle.py').write_text(page_tangle(Path(tangle.__file__).read_text(encoding='utf-8')), encoding='utf-8')
    (out / 'run.json').write_text(json.dumps(tangle.trained_run(root)), encoding='utf-8')
    (out / 'timings.json').write_text(json.dumps(tangle.timings(root)), encoding='utf-8')
    shutil.copyfile(tangle.names_file(root), out / 'names.txt')
    (out / 'NOTICE.txt').write_text(NOTICE, encoding='utf-8')
    shutil.copyfile(HERE / 'pagert.py', out / 'pagert.py')
    std = app.env.get_domain('std')
    labels = {label: str(title) for label, (_, _, title) in std.labels.items() if title}
    (out / 'labels.json').write_text(json.dumps(labels, ensure_ascii=False), encoding='utf-8')
    files = [[name, f'/book/{name}'] for name in ('tangle.py', 'microgpt.py')]
    files += [[name, f'/book/_inpage/{name}'] for name in
              ('pagert.py', 'book.json', 'run.json', 'timings.json', 'names.txt', 'labels.json')]
    for name in BOOK_FILES:
        shutil.copyfile(root / name, out / name.lstrip('_'))
        files.append([name.lstrip('_'), f'/book/{name}'])
    import yaml
    (out / 'yaml').mkdir(exist_ok=True)
    licence = next(Path(yaml.__file__).parent.parent.glob('[Pp]y[Yy][Aa][Mm][Ll]-*.dist-info/licenses/LICENSE'), None)
    if licence:
        shutil.copyfile(licence, out / 'yaml' / 'LICENSE')
    for module in sorted(Path(yaml.__file__).parent.glob('*.py')):
        shutil.copyfile(module, out / 'yaml' / module.name)
        files.append([f'yaml/{module.name}', f'/book/_inpage/yaml/{module.name}'])
    (out / 'files.json').write_text(json.dumps(files), encoding='utf-8')
    size = sum(f.stat().st_size for f in out.rglob('*') if f.is_file())
    logger.info(f'inpage: {size / 1e6:.1f} MB in {OUT}/ (Pyodide core, the program, the trained run, the names)')


# What this folder redistributes and under which licence (the book's own licences are in LICENSE).
MIT_PERMISSION = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions
of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""
NOTICE = f"""\
This folder lets the book's code run in the reader's browser. Besides the book's own files (the program and
its tools under the MIT licence, see the book's LICENSE), it holds copies of:

- names.txt: the names data of makemore by Andrej Karpathy (https://github.com/karpathy/makemore), which
  its author releases under the MIT licence, reproduced below. It is the file microgpt.py downloads.
- pyodide/: the core of Pyodide (https://pyodide.org), CPython compiled to WebAssembly, under the Mozilla
  Public License 2.0 (https://mozilla.org/MPL/2.0/); its source code is at
  https://github.com/pyodide/pyodide. Its Python standard library is under the Python Software Foundation
  License.
- yaml/: the pure-Python modules of PyYAML (https://pyyaml.org), under the MIT licence; its copyright and
  licence notice is yaml/LICENSE.

The MIT licence of makemore (Andrej Karpathy):

{MIT_PERMISSION}"""


def setup(app):
    app.connect('builder-inited', on_builder_inited)
    app.connect('html-page-context', on_html_page_context)
    app.connect('build-finished', on_build_finished)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
