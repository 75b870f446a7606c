"""Sphinx extension: the figure cells draw their graphs with the pinned graphviz-pure, not a system Graphviz.

The computation graphs of modules 2, 3, 4 and 5 are drawn in executed cells by the `graphviz` Python
package, which runs a program called `dot` found on the PATH. A fresh machine has no `dot` (it comes from
Debian's graphviz), so the book pins graphviz-pure in requirements.txt: a port of Graphviz whose wheel
holds one self-contained program, `graphviz-pure`, with dot's flags and the same output on every
platform. Its wheel does not install a program named `dot`, so that it never hides a system Graphviz.

When the build starts, this extension makes a folder in the build directory holding `dot`, a link to the
virtual environment's graphviz-pure, and puts it first on the PATH of the build process. The kernels that
execute the pages are started by the build and inherit that PATH, so every figure is drawn by the pinned
program, with or without a system Graphviz, and looks the same on every machine.

Listed under sphinx.local_extensions in _config.yml.
"""

import os
import shutil
import sys
from pathlib import Path

from sphinx.errors import ExtensionError

PROGRAM = 'graphviz-pure'


def pinned_program():
    """The graphviz-pure program of the Python running the build (beside it in a venv), else on the PATH."""
    beside = Path(sys.executable).parent / PROGRAM
    if beside.is_file():
        return beside
    found = shutil.which(PROGRAM)
    if found:
        return Path(found)
    raise ExtensionError(f'{PROGRAM} is not installed: the graph figures need it. It is pinned in '
                         f'requirements.txt; run `make venv` (or pip install -r requirements.txt).')


def put_dot_first_on_path(app, config):
    """Make <build>/graphviz-pure/dot a link to the pinned program and put its folder first on the PATH."""
    program = pinned_program()
    folder = Path(app.doctreedir).parent / PROGRAM
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / 'dot'
    if not (link.is_symlink() and Path(os.readlink(link)) == program):
        temporary = folder / f'dot.{os.getpid()}'
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(program)
        os.replace(temporary, link)   # a parallel build sees the old link or the new one, never none
    path = os.environ.get('PATH', '')
    if path.split(os.pathsep)[0] != str(folder):
        os.environ['PATH'] = str(folder) + (os.pathsep + path if path else '')


def setup(app):
    """Run before any page is read, so the first kernel already sees the pinned dot."""
    app.connect('config-inited', put_dot_first_on_path)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
