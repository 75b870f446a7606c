"""Sphinx extension: the lesson pages' code cells run in the reader's browser (issue 14).

Python is Pyodide's core (CPython compiled to WebAssembly), pinned in book/_ext/inpage/package-lock.json
and installed there by `make inpage` (npm ci); this extension copies its five core files into the site
(_inpage/pyodide/), so nothing is fetched from another host. The page loads it lazily, in a Web Worker,
the first time a reader presses Run (book/_ext/inpage/static/inpage.js and inpage-worker.js).

What the build writes beside the pages, in _inpage/:
    cells/<page>.json   every code cell of the executed page, in order: its source, whether the page shows
                        it, and whether it runs only in Jupyter (it draws with matplotlib or graphviz)
    tangle.py           the page's tangle module: it imports everything from runtime.py (below)
    runtime.py          book/_ext/runtime.py as it is, which the worker puts at /book/book/_ext/runtime.py, its
                        place in a checkout: load, the runs and variants, timings; in the page it reads the
                        files below, so the page runs the program exactly as the build does
    book.json           the chunks of the program (what read_book returns), and microgpt.py
    run.json            the build's one cached training run (trained_run(): weights, snapshots, losses, samples)
    variants.json       the build's runs of the book's variants (variant_run(NAME)), with their trained weights but
                        not the weights along the way (snapshots)
    timings.json        the build's one timing (timings())
    snapshots.json      what the run's weights after each kept step do (snapshot_run())
    names.txt           the names data the build used (makemore's, MIT licence)
    NOTICE.txt          what the folder redistributes and under which licences
    pagert.py           the runner of cells and the playground's functions
    labels.json         the title of each {ref} label, for the Markdown tables cells display
    yaml/               PyYAML's pure-Python modules (MIT licence), copied from the build's Python: a cell reads _toc.yml
    files.json          what the worker fetches and where it puts each file (/book is the checkout)

Without node_modules/pyodide (a machine with only Python) or in the teacher edition, nothing is added: the
pages have no Run buttons. Listed under sphinx.local_extensions in _config.yml.

Every HTML site (with or without Run buttons) also gets here a favicon (inpage/favicon.svg; browsers otherwise ask
for /favicon.ico and log a 404), and loses sphinx-thebe's scripts: Jupyter Book always loads that extension, the
book launches no thebe (its cells run in the page instead), and the configuration script it adds to every page came
twice, a SyntaxError in every page's console ("Identifier 'THEBE_JS_URL' has already been declared"). And a
reader's first page no longer logs pydata-sphinx-theme's "Got invalid theme mode" (FIRST_MODE).
"""

import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

import editions

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent / 'inpage'
PYODIDE = HERE / 'node_modules' / 'pyodide'
CORE_FILES = ('pyodide.js', 'pyodide.mjs', 'pyodide.asm.js', 'pyodide.asm.wasm', 'python_stdlib.zip',
              'pyodide-lock.json')
OUT = '_inpage'
# Files of the book a cell reads (beside tangle.py, as in a checkout).
BOOK_FILES = ('_toc.yml', '_config.yml')
# Imports the page's Python cannot serve: the drawing libraries (not in Pyodide's core) and subprocess (a
# browser starts no other process).
JUPYTER_ONLY = {'matplotlib': 'it draws with matplotlib', 'graphviz': 'it draws with graphviz',
                'subprocess': 'it starts other Python processes'}
PAGE_TANGLE = '''"""tangle, as the book's pages have it in the browser (written by book/_ext/inpage.py).

What the cells use of tangle is the runtime of the executed cells, book/_ext/runtime.py, which the page
receives as is (at the same place under the page's root); it reads the program, the runs, the timing and
the names from the files the build wrote in _inpage/.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOC = '_toc.yml'
sys.path.insert(0, str(ROOT / 'book' / '_ext'))
import runtime  # noqa: E402,F401  (tangle.runtime, as the checkout's tangle.py has it)
from runtime import *  # noqa: E402,F401,F403
from runtime import _json, _run_chunks  # noqa: E402,F401
'''
RUNTIME = Path(__file__).resolve().parent / 'runtime.py'
FAVICON = HERE / 'favicon.svg'


def html_site(app):
    """The HTML site, either edition (not the EPUB, whose builder is epub)."""
    return app.builder.name == 'html'


def is_thebe(asset):
    """sphinx-thebe's script, its configuration script or its stylesheet (a page's script_files or css_files item)."""
    return ('thebe' in Path(str(asset.filename or '')).name
            or 'THEBE_JS_URL' in str(getattr(asset, 'attributes', {}).get('body', '')))


# A first visit has no colour mode stored: the theme's head script then leaves the mode empty, and its main script
# logs an error before falling back to "auto". This says "auto" first. (The theme's default_mode setting would do the
# same but also mark <html data-theme="auto">, which leaves the page without colours where no script runs.)
FIRST_MODE = 'if (!document.documentElement.dataset.mode) document.documentElement.dataset.mode = "auto";'


def on_thebe_doctree(app, doctree, docname):
    """sphinx-thebe's configuration blocks at the end of each page (a JSON for Binder, the kernel's name): gone."""
    if not html_site(app):
        return
    for raw in list(doctree.findall(nodes.raw)):
        if 'x-thebe-config' in raw.astext() or raw.astext().startswith('<script>kernelName'):
            raw.parent.remove(raw)


def on_site_page_context(app, pagename, templatename, context, doctree):
    """No thebe script or stylesheet on the page, and no inline script twice (Sphinx lists a script added once the
    builder exists twice, as it did sphinx-thebe's: only files are told apart by name)."""
    if not html_site(app):
        return
    for key in ('script_files', 'css_files'):
        if key in context:
            seen, kept = set(), []
            for asset in context[key]:
                body = getattr(asset, 'attributes', {}).get('body')
                if is_thebe(asset) or (body and body in seen):
                    continue
                seen.add(body)
                kept.append(asset)
            context[key] = kept


def enabled(app):
    """Only the student edition's HTML site (the builder named html: not the EPUB, whose builder is html too)."""
    return (app.builder.name == 'html' and editions.edition(app) != 'teacher'
            and all((PYODIDE / name).is_file() for name in CORE_FILES))


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
                      'raises': 'raises-exception' in tags, 'jupyter_only': jupyter_only(cell),
                      'count': cell.get('execution_count') or len(cells) + 1,  # Jupyter's In[count], for tracebacks
                      # MyST-NB joins such a cell's printing into one block without trailing whitespace (coalesce_streams)
                      'merge_streams': bool(cell.get('metadata', {}).get('mystnb', {}).get('merge_streams'))})
    return cells


def on_builder_inited(app):
    if app.builder.name != 'html':
        return
    if not app.config.html_favicon:
        app.config.html_favicon = str(FAVICON)
    app.add_js_file(None, body=FIRST_MODE, priority=100)
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


def page_variants(root):
    """The runs of the book's variants for the page (runtime.variant_run there): everything but the weights along the
    way (snapshots); the trained weights stay, for tangle.load(..., trained=True, variant=NAME) (about 90 kB each)."""
    import runtime
    return {name: {k: v for k, v in runtime.variant_run(name, root).items() if k != 'snapshots'}
            for name in runtime.VARIANTS}


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
    (out / 'tangle.py').write_text(PAGE_TANGLE, encoding='utf-8')
    shutil.copyfile(RUNTIME, out / 'runtime.py')
    (out / 'run.json').write_text(json.dumps(tangle.trained_run(root)), encoding='utf-8')
    (out / 'variants.json').write_text(json.dumps(page_variants(root)), encoding='utf-8')
    (out / 'timings.json').write_text(json.dumps(tangle.timings(root)), encoding='utf-8')
    (out / 'snapshots.json').write_text(json.dumps(tangle.snapshot_run(root)), encoding='utf-8')
    shutil.copyfile(tangle.names_file(root), out / 'names.txt')
    (out / 'NOTICE.txt').write_text(NOTICE, encoding='utf-8')
    shutil.copyfile(HERE / 'pagert.py', out / 'pagert.py')
    std = app.env.get_domain('std')
    labels = {label: str(title) for label, (_, _, title) in std.labels.items() if title}
    (out / 'labels.json').write_text(json.dumps(labels, ensure_ascii=False), encoding='utf-8')
    files = [[name, f'/book/{name}'] for name in ('tangle.py', 'microgpt.py')]
    files.append(['runtime.py', '/book/book/_ext/runtime.py'])  # where it is in a checkout, as it is there
    files += [[name, f'/book/_inpage/{name}'] for name in
              ('pagert.py', 'book.json', 'run.json', 'variants.json', 'timings.json', 'snapshots.json', 'names.txt',
               'labels.json')]
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
    app.connect('doctree-resolved', on_thebe_doctree, priority=900)  # after sphinx-thebe has added its blocks
    app.connect('html-page-context', on_site_page_context, priority=900)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
