"""No stderr on a page (book/_ext/no_stderr.py, on the mini-book tests/roots/test-stderr/) and the graph figures'
drawing (tangle.png), which keeps dot's note on the widths of non-ASCII characters off the pages."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sphinx.util.console import strip_colors

import tangle

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.sphinx('html', testroot='stderr', freshenv=True)
def test_a_cell_printing_to_stderr_on_a_page_is_an_error_unless_tagged_to_show_it(app):
    """loud.md: its two cells that show stderr and the one that hides it are errors at their last lines; quiet.md's
    cells (stdout, stderr shown on purpose, an error on purpose, stderr in a removed cell or output) are not."""
    app.build()
    errors = [line for line in strip_colors(app.warning.getvalue()).splitlines() if line.strip()]
    assert [re.sub(r'^.*[/\\]', '', line) for line in errors] == [
        "loud.md:11: ERROR: a cell prints to stderr on the page: 'a note not for the reader'; remove its cause "
        "(or tag the cell shows-stderr if the page means to show it)",
        "loud.md:16: ERROR: a cell prints to stderr on the page: 'under a hidden input'; remove its cause "
        "(or tag the cell shows-stderr if the page means to show it)",
        "loud.md:21: ERROR: a cell tagged remove-stderr: its stderr is hidden, not cured; remove what prints it "
        "(or tag the cell shows-stderr to show it on purpose)",
    ]
    quiet = (app.outdir / 'quiet.html').read_text(encoding='utf-8')
    assert 'shown on purpose' in quiet and 'a warning before the error' in quiet


@pytest.mark.sphinx('html', testroot='stderr', confoverrides={'suppress_warnings': []}, freshenv=True)
def test_with_warnings_as_errors_the_build_fails_on_stderr(app):
    """The book builds with -W: the first such error stops it."""
    app.warningiserror = True
    with pytest.raises(Exception, match='prints to stderr on the page'):
        app.build()


def test_the_page_runner_applies_the_same_rule():
    """tests/page.py's stderr_on_page: the cells the build reports, and only those."""
    sys.path.insert(0, str(REPO / 'book' / '_ext'))
    from no_stderr import stderr_on_page

    def cell(tags, *streams):
        return {'cell_type': 'code', 'metadata': {'tags': tags},
                'outputs': [{'output_type': 'stream', 'name': name, 'text': text} for name, text in streams]}
    assert stderr_on_page(cell([], ('stdout', 'a\n'), ('stderr', 'b\n'), ('stderr', 'c\n'))) == 'b\nc\n'
    assert stderr_on_page(cell(['hide-input'], ('stderr', 'b'))) == 'b'
    assert stderr_on_page(cell([], ('stdout', 'a'))) == ''
    for tags in (['shows-stderr'], ['raises-exception'], ['remove-cell'], ['remove-output']):
        assert stderr_on_page(cell(tags, ('stderr', 'b'))) == ''


@pytest.fixture
def pinned_dot(tmp_path, monkeypatch):
    """A `dot` on the PATH that is the pinned graphviz-pure, as the build has it (book/_ext/graphviz_dot.py)."""
    program = Path(sys.executable).parent / 'graphviz-pure'
    if not program.is_file():
        pytest.skip('graphviz-pure is not installed beside this Python')
    (tmp_path / 'dot').symlink_to(program)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ.get("PATH", "")}')


def test_a_graph_with_non_ascii_labels_is_drawn_without_a_word_on_stderr(pinned_dot, capfd):
    """×, → and − in labels: dot notes their widths (the cause of the old stderr under four figures); png drops it."""
    graphviz = pytest.importorskip('graphviz')
    graph = graphviz.Digraph(node_attr={'fontname': 'Helvetica'})
    graph.node('a', 'x × y → z')
    graph.edge('a', 'b', label='−1')
    graph.pipe(format='png')   # as the pages drew before
    assert 'no value for width of non-ASCII character' in capfd.readouterr().err
    image = tangle.png(graph)
    assert image.data.startswith(b'\x89PNG') and image.data == graph.pipe(format='png', quiet=True)
    assert capfd.readouterr().err == ''


def test_anything_else_dot_says_reaches_stderr_and_a_failing_dot_raises(pinned_dot, capfd):
    """png hides nothing but the width note: an unknown colour's warning is printed; a syntax error raises."""
    graphviz = pytest.importorskip('graphviz')
    graph = graphviz.Digraph()
    graph.node('a', 'a ×', color='notacolour')
    tangle.png(graph)
    err = capfd.readouterr().err
    assert 'notacolour' in err and 'non-ASCII' not in err
    broken = graphviz.Digraph()
    broken.body.append('a -> {')
    with pytest.raises(RuntimeError, match='dot failed'):
        tangle.png(broken)


def test_no_page_draws_a_graph_but_through_tangle_png():
    """A cell that called graph.pipe itself would print dot's notes under its figure again (the pages: not
    book/_ext/, where `make inpage` puts node_modules)."""
    pages = [path for path in sorted((REPO / 'book').rglob('*.md')) if '_ext' not in path.relative_to(REPO).parts]
    calls = [f'{path.relative_to(REPO)}:{n}' for path in pages
             for n, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1)
             if re.search(r'\.(pipe|render|view)\(', line)]
    assert calls == []


def test_a_latex_build_draws_each_graph_as_pdf_too(pinned_dot, capfd, monkeypatch):
    """For the LaTeX builds (book/_ext/paper.py sets MICROGPT_FIGURES=pdf) png gives the graph as vectors too: a PDF
    whose labels are text, beside the PNG the HTML shows; without the variable, the PNG alone."""
    graphviz = pytest.importorskip('graphviz')
    if not shutil.which('rsvg-convert'):
        pytest.skip('no rsvg-convert here (Debian librsvg2-bin): the PDF build needs it for its graphs')
    graph = graphviz.Digraph(node_attr={'fontname': 'Helvetica'})
    graph.edge('a', 'b', label='x × y')
    assert set(tangle.png(graph)._repr_mimebundle_()) == {'image/png'}
    monkeypatch.setenv('MICROGPT_FIGURES', 'pdf')
    image = tangle.png(graph)
    bundle = image._repr_mimebundle_()
    assert set(bundle) == {'image/png', 'application/pdf'}
    assert image.pdf.startswith(b'%PDF') and image.data.startswith(b'\x89PNG')
    pdf = Path(tempfile.mkdtemp()) / 'graph.pdf'
    pdf.write_bytes(image.pdf)
    if shutil.which('pdftotext'):
        text = subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True).stdout
        assert '×' in text and 'b' in text.split()
    assert capfd.readouterr().err == ''
