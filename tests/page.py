"""Execute one lesson's code cells as the build does, without building the book: for writing a lesson.

    .venv/bin/python tests/page.py book/03-architecture/08-residual.md [--quiet]

The page is read with MyST-NB's own reader and run by nbclient in the build's kernel, from the page's folder,
so its cells see what they see in the build (tangle, the cached runs, glue, the pinned graphviz-pure as dot). Prints each cell's outputs and
every glued value; exits 1 at the first cell that raises (unless the cell is tagged raises-exception), or when a
cell prints to stderr on the page (the build's rule, book/_ext/no_stderr.py). The full check is still `make book`
(warnings are errors there, glue references must resolve).
"""

import json
import sys
from pathlib import Path


def main(argv):
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    import os
    import tempfile
    pinned = Path(sys.executable).parent / 'graphviz-pure'  # the graph figures' dot, as the build has it
    if pinned.is_file():
        folder = Path(tempfile.mkdtemp(prefix='page-dot-'))
        (folder / 'dot').symlink_to(pinned)
        os.environ['PATH'] = f'{folder}{os.pathsep}{os.environ.get("PATH", "")}'
    path = Path(argv[0]).resolve()
    quiet = '--quiet' in argv
    notebook = read_myst_markdown_notebook(path.read_text(encoding='utf-8'), path=str(path))
    notebook = nbformat.from_dict(notebook)
    client = NotebookClient(notebook, timeout=3600, kernel_name='python3', allow_errors=False,
                            resources={'metadata': {'path': str(path.parent)}})
    try:
        client.execute()
        failed = None
    except CellExecutionError as err:
        failed = err
    glued = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != 'code':
            continue
        for output in cell.get('outputs', []):
            data = output.get('data', {})
            names = output.get('metadata', {}).get('scrapbook', {}).get('name')
            if names:
                glued[names] = next((v for k, v in data.items() if k.endswith('text/plain')), '')
                continue
            if quiet:
                continue
            text = output.get('text') or data.get('text/markdown') or data.get('text/plain') or ''
            if output.get('output_type') == 'error':
                text = '\n'.join(output.get('traceback', []))
            if text:
                stream = f' {output["name"]}' if output.get('output_type') == 'stream' else ''
                print(f'--- cell {index} ({output.get("output_type")}{stream})')
                print(text if isinstance(text, str) else ''.join(text))
    print('--- glued values')
    print(json.dumps(glued, indent=1, ensure_ascii=False))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'book' / '_ext'))
    from no_stderr import stderr_on_page
    on_page = [(index, stderr_on_page(cell)) for index, cell in enumerate(notebook.cells)]
    for index, text in on_page:
        if text:
            print(f'cell {index} prints to stderr on the page (the build fails): {text.strip()!r}', file=sys.stderr)
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 1 if any(text for index, text in on_page) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
