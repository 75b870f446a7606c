"""One reading of a chunk: tangle.py and the book agree on every {chunk} fence.

A differential property test. Hypothesis writes small books: chunk fences with odd spellings,
indentation and invisible characters, closed properly or not, placed at the top level, inside
other directives (exercise, solution, dropdown, only, note), inside literal fences that only show
chunk syntax, or after a fence left open. Sphinx reads each book with MyST, as the book's build
does, and a stand-in for the chunk directive records every chunk it would render. tangle.py reads
the same book. Either tangle.py refuses the book (exit 2, `file:line`), or the chunks it reads are
exactly the chunks Sphinx renders, in the same order, with the same lines.

Then the chunks the book renders but tangle cannot read as written (an included file's, one in {eval-rst}
or an .rst chapter, one in a Markdown cell MyST-NB drops or shifts, read with MyST-NB as the parser): Sphinx
is shown to render them so, and tangle.py refuses each at its chapter's line. And random MyST notebook
chapters (cell breaks tagged remove-cell or not, code cells, line separators), read by Sphinx with MyST-NB
as the book's build reads them: refused, or the same chunks.
"""

import io
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tangle
from conftest import restore_sphinx_defaults

CONF = textwrap.dedent('''\
    extensions = ['myst_parser', 'sphinx_exercise', 'sphinx_design', 'chunk_recorder']
    myst_enable_extensions = ['colon_fence', 'dollarmath', 'amsmath', 'deflist']
    source_suffix = {'.md': 'markdown'}
    exclude_patterns = ['_build']
    ''')
RECORDER = textwrap.dedent('''\
    """The chunk directive as the book parses it (tangle's own class), recording what it would render."""
    import tangle

    ChunkDirective = tangle._sphinx_parts()[0]


    class RecordingChunk(ChunkDirective):
        def run(self):
            self.env.app.rendered.append((self.env.docname, self.arguments[0], list(self.content)))
            return []


    def setup(app):
        app.rendered = []
        app.add_directive('chunk', RecordingChunk)
        return {'parallel_read_safe': False}
    ''')
TOC = 'format: jb-book\nroot: index\nchapters:\n- file: a\n- file: b\n'
CONFIG = 'parse:\n  myst_enable_extensions: [colon_fence, dollarmath, amsmath, deflist]\n'

INVISIBLE = ['\u200b', '\ufeff', '\u00a0', '\u2060']
WRAPPERS = ['{exercise}', '{solution} ex', '{dropdown} More', '{only} html', '{note}', '{code-block} python',
            'markdown', 'python', '']


@st.composite
def chunk_fence(draw, name):
    """A chunk fence, mostly well formed, sometimes spelled, indented or closed in a way a reader would not see."""
    odd = draw(st.booleans())
    fence = '`' * draw(st.sampled_from([3, 3, 4]))
    indent = draw(st.sampled_from(['', ' ', '    ', '\t'] + INVISIBLE)) if odd else ''
    spelling = draw(st.sampled_from(['{chunk}', '{Chunk}', '{CHUNK}'])) if odd else '{chunk}'
    space = draw(st.sampled_from([' ', '', '  ', '\u00a0', '\t'])) if odd else ' '
    tail = draw(st.sampled_from(['', '\u200b', ' extra'])) if odd else ''
    body = [f'{name}_x = {draw(st.integers(0, 9))}'] + ([f'{name}_y = 1'] if draw(st.booleans()) else [])
    closing = draw(st.sampled_from(['normal', 'normal', 'invisible', 'longer', 'missing'])) if odd else 'normal'
    close = {'normal': fence, 'invisible': fence + draw(st.sampled_from(INVISIBLE)), 'longer': fence + '`',
             'missing': ''}[closing]
    lines = [f'{indent}{fence}{spelling}{space}{name}{tail}'] + [indent + line for line in body]
    return lines + ([indent + close] if close else []), fence


@st.composite
def block(draw, name):
    """Prose, a chunk, a chunk inside another directive or fence, or a fence left open."""
    kind = draw(st.sampled_from(['prose', 'chunk', 'chunk', 'wrapped', 'open']))
    if kind == 'prose':
        return ['Some prose about the program.']
    if kind == 'open':
        return ['```python', 'still_open = True']
    lines, fence = draw(chunk_fence(name))
    if kind == 'chunk':
        return lines
    wrapper = draw(st.sampled_from(WRAPPERS))
    colons = wrapper.startswith('{') and draw(st.booleans())
    outer = ':' * 3 if colons else '`' * (len(fence) + 1)
    return [f'{outer}{wrapper}'] + lines + [outer]


@st.composite
def chapter(draw, prefix):
    """A chapter: a title, then blocks separated by blank lines."""
    blocks = [draw(block(f'{prefix}{i}')) for i in range(draw(st.integers(1, 4)))]
    return '# Chapter\n\n' + '\n\n'.join('\n'.join(b) for b in blocks) + '\n'


def sphinx_chunks(root, outdir):
    """(docname, name, lines) of every chunk directive Sphinx runs while reading the book under root."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    restore_sphinx_defaults()  # whatever an earlier build in this process left in Sphinx's defaults
    try:
        with patch_docutils(str(root)), docutils_namespace():  # the recording directive is not left registered
            app = Sphinx(str(root), str(root), str(outdir), str(outdir / '.doctrees'), 'dummy',
                         status=None, warning=io.StringIO(), freshenv=True)
            app.build()
    finally:
        restore_sphinx_defaults()  # the many builds of one property test each start as the first did
    return [(docname, name, strip_blank_end(lines)) for docname, name, lines in app.rendered]


def strip_blank_end(lines):
    """The lines without trailing blank ones (the directive's content may drop them; so may a reader)."""
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


@pytest.fixture(scope='module')
def recorder(tmp_path_factory):
    """The folder of the recording extension, on sys.path."""
    folder = tmp_path_factory.mktemp('recorder')
    (folder / 'chunk_recorder.py').write_text(RECORDER, encoding='utf-8')
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


def compare(root, recorder):
    """Read root with tangle.py and with Sphinx: 'refused' or 'agreed' (and they must agree)."""
    try:
        book = tangle.read_book(root)
    except tangle.TangleError as err:
        assert str(err).split(':')[0] in ('a.md', 'b.md'), str(err)  # refused at a chapter's line
        return 'refused'
    rendered = sphinx_chunks(root, root / '_build')
    read = [(c.docname, c.name, strip_blank_end(c.lines)) for c in book.chunks]
    assert read == rendered, f'tangle read {read}\nSphinx renders {rendered}'
    return 'agreed'


def write(root, a_md, b_md):
    """A two-chapter book under root with Sphinx's conf.py and the book's TOC and config."""
    for name, text in {'conf.py': CONF, '_toc.yml': TOC, '_config.yml': CONFIG, 'index.md': '# Home\n',
                       'a.md': a_md, 'b.md': b_md}.items():
        (root / name).write_text(text, encoding='utf-8')
    return root


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(a_md=chapter('a'), b_md=chapter('b'))
def test_tangle_reads_exactly_the_chunks_the_book_renders_or_refuses(a_md, b_md, recorder, tmp_path_factory):
    """Over random books: refused at a chapter line, or the same chunks as Sphinx renders."""
    root = write(tmp_path_factory.mktemp('book'), a_md, b_md)
    event(compare(root, recorder))


def test_well_formed_books_are_read_and_agree(recorder, tmp_path):
    """The plain case is not refused: top-level chunks, and chunk syntax shown inside literal fences."""
    a_md = '# A\n\n```{chunk} one\nx = 1\n```\n\n````markdown\n```{chunk} shown\nnot_code = 1\n```\n````\n'
    b_md = '# B\n\n````{chunk} two\ny = 2\n\nz = 3\n````\n\n:::{note}\nNo chunk here.\n:::\n'
    assert compare(write(tmp_path, a_md, b_md), recorder) == 'agreed'


@pytest.mark.parametrize('a_md', [
    '# A\n\n````{exercise}\n```{chunk} one\nx = 1\n```\n````\n',
    '# A\n\n:::{dropdown} More\n```{chunk} one\nx = 1\n```\n:::\n',
    '# A\n\n```{Chunk} one\nx = 1\n```\n',
    '# A\n\n```{chunk}one\nx = 1\n```\n',
    '# A\n\n```{chunk} one\nx = 1\n```\u200b\nprose\n```\n',
])
def test_the_cases_that_once_disagreed_are_refused(a_md, recorder, tmp_path):
    """Each of these once made tangle.py read something other than what the book renders."""
    assert compare(write(tmp_path, a_md, '# B\n'), recorder) == 'refused'


NB = '---\njupytext:\n  text_representation:\n    format_name: myst\n---\n'  # front matter: MyST-NB reads it as a notebook
CONF_RST = CONF.replace("source_suffix = {'.md': 'markdown'}", "source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}")
CONF_NB = CONF.replace("'myst_parser'", "'myst_nb'").replace("source_suffix = {'.md': 'markdown'}\n",
                                                             "nb_execution_mode = 'off'\n")
ONE = '# A\n\n```{chunk} one\nx = 1\n```\n'
TWO = '```{chunk} two\ny = 2\n```\n'


def write_files(root, conf, files):
    """A book under root: Sphinx's conf.py, the TOC, config and index, and the given files."""
    for name, text in {'conf.py': conf, '_toc.yml': TOC, '_config.yml': CONFIG, 'index.md': '# Home\n',
                       'b.md': '# B\n', **files}.items():
        if text is not None:
            (root / name).write_text(text, encoding='utf-8')
    return root


@pytest.mark.parametrize('conf, files, rendered', [
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n```\n', 'more.txt': TWO},
                 [('a', 'one', ['x = 1']), ('a', 'two', ['y = 2'])], id='chunk-in-an-included-file'),
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n:start-after: MARK\n:end-line: 7\n```\n',
                        'more.txt': '```{chunk} zero\nw = 0\n```\nMARK\n\n' + TWO},
                 [('a', 'one', ['x = 1']), ('a', 'two', ['y = 2'])], id='chunk-in-the-part-an-include-brings-in'),
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n```\n', 'more.txt': 'Prose.\u2028' + TWO},
                 [('a', 'one', ['x = 1']), ('a', 'two', ['y = 2'])], id='chunk-after-a-line-separator-in-an-included-file'),
    pytest.param(CONF_RST, {'a.md': ONE, 'b.md': None, 'b.rst': 'B\n=\n\n.. include:: more.txt\n   :end-line: 3\n',
                            'more.txt': '.. chunk:: two\n\n   y = 2\n\nProse.\n'},
                 [('a', 'one', ['x = 1']), ('b', 'two', ['y = 2'])], id='chunk-in-the-part-an-rst-include-brings-in'),
    pytest.param(CONF, {'a.md': ONE + '\n```{eval-rst}\n.. chunk:: two\n\n   y = 2\n```\n'},
                 [('a', 'one', ['x = 1']), ('a', 'two', ['y = 2'])], id='chunk-directive-in-eval-rst'),
    pytest.param(CONF_RST, {'a.md': ONE, 'b.md': None, 'b.rst': 'B\n=\n\n.. chunk:: two\n\n   y = 2\n'},
                 [('a', 'one', ['x = 1']), ('b', 'two', ['y = 2'])], id='chunk-directive-in-an-rst-chapter'),
    pytest.param(CONF_NB, {'a.md': NB + ONE + '\n+++ {"tags": ["remove-cell"]}\n\n' + TWO},
                 [('a', 'one', ['x = 1'])], id='chunk-in-a-removed-markdown-cell'),
    pytest.param(CONF_NB, {'a.md': NB + '# A\u2028more\n\n```{code-cell} python\n1\n```\n\n' + TWO},
                 [], id='line-separator-shifts-the-cells'),
])
def test_what_tangle_cannot_read_as_the_book_does_is_refused(conf, files, rendered, recorder, tmp_path):
    """The book renders chunks here that tangle would not read as written (or drops one it would): refused."""
    root = write_files(tmp_path, conf, files)
    assert sphinx_chunks(root, root / '_build') == rendered  # what the book does, shown
    with pytest.raises(tangle.TangleError, match=r'^(a\.md|b\.rst):\d+: '):
        tangle.read_book(root)


@pytest.mark.parametrize('conf, files', [
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n:literal:\n```\n', 'more.txt': TWO},
                 id='include-shown-as-code'),
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n:start-line: 3\n```\n', 'more.txt': TWO + 'Prose.\n'},
                 id='include-from-after-the-chunk'),
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n---\nend-before: "```{chunk}"\n---\n```\n',
                        'more.txt': 'Prose.\n\n' + TWO}, id='include-up-to-the-chunk-in-a-yaml-block'),
    pytest.param(CONF, {'a.md': ONE + '\n```{include} more.txt\n:start-after: END\n```\n',
                        'more.txt': TWO + 'END\nProse.\n'}, id='include-from-after-a-mark-past-the-chunk'),
    pytest.param(CONF_RST, {'a.md': ONE, 'b.md': None, 'b.rst': 'B\n=\n\n.. include:: more.txt\n   :start-line: 4\n',
                            'more.txt': '.. chunk:: two\n\n   y = 2\n\nProse.\n'}, id='rst-include-from-after-the-chunk'),
    pytest.param(CONF, {'a.md': ONE + '\n````markdown\n```{include} more.txt\n```\n````\n', 'more.txt': TWO},
                 id='include-inside-a-code-example'),
    pytest.param(CONF_NB, {'a.md': NB + ONE + '\n+++ {"tags": ["remove-cell"]}\n\nHidden.\n\n+++\n\n'
                                   '```{code-cell} python\n:tags: [remove-cell]\n1\n```\n\n' + TWO},
                 id='notebook-cells-hiding-no-chunk'),
    pytest.param(CONF, {'a.md': '# A\u2028more\n\n```{chunk} one\nx = 1\n```\n'}, id='line-separator-in-a-plain-page'),
])
def test_includes_and_notebook_cells_that_hide_no_chunk_agree(conf, files, recorder, tmp_path):
    """The same constructs, where the book renders every chunk as written: tangle reads the same chunks."""
    assert compare(write_files(tmp_path, conf, files), recorder) == 'agreed'


@pytest.mark.sphinx('html', testroot='chunks', freshenv=True)
def test_a_myst_nb_build_reads_as_the_book_after_a_myst_parser_build_in_the_same_process(app, recorder, tmp_path):
    """A mini-book built first with myst_parser and no source_suffix in its conf.py (as tests/test_extension.py
    does) once left '.md': 'markdown' in Sphinx's default source_suffix, and MyST-NB then had no parser for it."""
    app.build()
    root = write_files(tmp_path, CONF_NB, {'a.md': NB + ONE, 'b.md': '# B\n\n' + TWO})
    assert compare(root, recorder) == 'agreed'  # Sphinx renders the two chunks tangle reads


@st.composite
def notebook_chapter(draw, prefix):
    """A MyST notebook chapter: blocks as above, between cell breaks (tagged or not), code cells and line separators."""
    parts = []
    for i in range(draw(st.integers(1, 4))):
        cut = draw(st.sampled_from(['', '', '+++', '+++ {"tags": ["remove-cell"]}', '+++ {"tags": ["remove_cell"]}',
                                    '+++ {"tags": ["other"]}', '```{code-cell} python\n1\n```',
                                    '```{code-cell} python\n:tags: [remove-cell]\n1\n```', 'A line\u2028split',
                                    'A form\x0cfeed']))
        if cut and not (cut[0] == 'A' and draw(st.integers(0, 3))):  # a line separator, less often: it refuses all
            parts.append(cut)
        plain = [f'```{{chunk}} {prefix}{i}', f'{prefix}{i}_x = {i}', '```']
        parts.append('\n'.join(plain if draw(st.booleans()) else draw(block(f'{prefix}{i}'))))
    return NB + '# Chapter\n\n' + '\n\n'.join(parts) + '\n'


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(a_md=notebook_chapter('a'), b_md=notebook_chapter('b'))
def test_in_notebook_chapters_tangle_reads_exactly_the_chunks_myst_nb_renders_or_refuses(a_md, b_md, recorder,
                                                                                        tmp_path_factory):
    """Over random MyST notebook chapters read by MyST-NB: refused at a chapter line, or the same chunks."""
    root = write_files(tmp_path_factory.mktemp('book'), CONF_NB, {'a.md': a_md, 'b.md': b_md})
    event(compare(root, recorder))
