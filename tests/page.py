"""Execute one lesson's code cells as the build does, without building the book: for writing a lesson.

    .venv/bin/python tests/page.py book/03-architecture/08-residual.md [--quiet]

The page is read with MyST-NB's own reader and run by nbclient in the build's kernel, from the page's folder,
so its cells see what they see in the build (tangle, the cached runs, glue, the pinned graphviz-pure as dot). Prints each cell's outputs and
every glued value; exits 1 at the first cell that raises (unless the cell is tagged raises-exception). The
full check is still `make book` (warnings are errors there, glue references must resolve).
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
                print(f'--- cell {index} ({output.get("output_type")})')
                print(text if isinstance(text, str) else ''.join(text))
    print('--- glued values')
    print(json.dumps(glued, indent=1, ensure_ascii=False))
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
