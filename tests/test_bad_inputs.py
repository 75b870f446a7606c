"""Bad chapters and tables of contents, measured: each one, in every mode, exits 2 with `file:line: what is wrong`.

tests/test_tangle_errors.py has one test for each of 16 bad inputs; the table below adds 28 more. Every row
runs three times (tangle, --check, --stitch), and each run must print exactly `tangle: MESSAGE` on stderr,
nothing on stdout, and leave every file of the book, microgpt.py included, byte for byte as it was: every
mode refuses what the others refuse, with the same message.
"""

import os
from pathlib import Path

import pytest

import tangle
from test_tangle_errors import A, B, INDEX, SENTINEL, TOC, write_book

LOOKS_LIKE = ('looks like a chunk fence but is not read as one (indented by a tab or 4 spaces, inside HTML, '
              'or after an invisible character): start the line with ```{chunk}')
OUTSIDE = 'is outside the book: chapters are files under the folder of _toc.yml'


def book_with(root, changes):
    """The two-chapter book (see test_tangle_errors) under root with changes; a None value leaves a file out."""
    files = {'_toc.yml': TOC, 'index.md': INDEX, 'a.md': A, 'b.md': B, **changes}
    return write_book(root, {rel: text for rel, text in files.items() if text is not None})


def snapshot(root):
    """Every file under root and its bytes (tangle's sync state in _build/ aside)."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob('*'))
            if path.is_file() and not path.relative_to(root).as_posix().startswith('_build/')}


NB = '---\njupytext:\n  text_representation:\n    format_name: myst\n---\n'  # front matter: MyST-NB reads it


def chunk_a(body, fence='```{chunk} first'):
    """a.md holding one chunk with the given body lines (the fence is line 3)."""
    return f'# A\n\n{fence}\n{body}```\n'


BAD = [
    # chapters
    pytest.param({'a.md': ''}, 'a.md:1: chapter is empty: a chapter has at least a title', id='empty-chapter'),
    pytest.param({'a.md': '\n  \n\t\n'}, 'a.md:1: chapter is empty: a chapter has at least a title',
                 id='chapter-of-blank-lines'),
    pytest.param({'a.md': chunk_a('')}, "a.md:3: chunk 'first' is empty", id='chunk-without-lines'),
    pytest.param({'a.md': chunk_a('\n    \n')}, "a.md:3: chunk 'first' is empty", id='chunk-of-blank-lines'),
    pytest.param({'a.md': '# A\n\n\t```{chunk} first\n\tx = 1\n\t```\n'}, f'a.md:3: {LOOKS_LIKE}',
                 id='fence-indented-by-a-tab'),
    pytest.param({'a.md': '# A\n\n    ```{chunk} first\n    x = 1\n    ```\n'}, f'a.md:3: {LOOKS_LIKE}',
                 id='fence-indented-by-4-spaces'),
    pytest.param({'a.md': '# A\n\n  ```{chunk} first\n  x = 1\n  ```\n'},
                 'a.md:3: chunk fence is indented: a chunk must start at the left margin',
                 id='fence-indented-by-2-spaces'),
    pytest.param({'a.md': '# A\n\n<div>\n```{chunk} first\nx = 1\n```\n</div>\n'}, f'a.md:4: {LOOKS_LIKE}',
                 id='fence-inside-html'),
    pytest.param({'a.md': '# A\n\n\ufeff```{chunk} first\nx = 1\n```\n'}, f'a.md:3: {LOOKS_LIKE}',
                 id='byte-order-mark-before-a-fence-mid-chapter'),
    pytest.param({'a.md': chunk_a('x = 1\n```{chunk} inner\ny = 2\n```\n')},
                 "a.md:5: chunk fence inside chunk 'first': close 'first' first", id='nested-fences'),
    pytest.param({'a.md': chunk_a('x = 1\n```{chunk} inner\ny = 2\n```\n', fence='````{chunk} first')[:-4] + '````\n'},
                 "a.md:5: chunk fence inside chunk 'first': close 'first' first", id='nested-fences-in-a-longer-fence'),
    pytest.param({'a.md': chunk_a('x = 1\n\ufeffy = 2\n')}, "a.md:5: byte order mark (U+FEFF) in chunk 'first'",
                 id='byte-order-mark-inside-a-chunk'),
    pytest.param({'a.md': '# A\n\n~~~{chunk} first\nx = 1\n~~~\n'},
                 'a.md:3: chunk fence of tildes: write a chunk with backticks, ```{chunk} some-name', id='tilde-fence'),
    pytest.param({'a.md': chunk_a(':linenos:\nx = 1\n')},
                 "a.md:4: chunk 'first' starts with a directive option (':linenos:'): a chunk takes no options, "
                 'its body is program lines only', id='directive-option-line'),
    pytest.param({'a.md': chunk_a('---\nlinenos: true\n---\nx = 1\n')},
                 "a.md:4: chunk 'first' starts with a directive option ('---'): a chunk takes no options, "
                 'its body is program lines only', id='directive-option-block'),
    pytest.param({'a.md': chunk_a('x = 1\n', fence='```{chunk} first_part')},
                 "a.md:3: chunk name 'first_part' is not one kebab-case word", id='name-with-underscore'),
    pytest.param({'a.md': chunk_a('x = 1\n', fence='```{chunk} first-')},
                 "a.md:3: chunk name 'first-' is not one kebab-case word", id='name-ending-in-a-hyphen'),
    pytest.param({'a.md': chunk_a('x = 1\ny = 2\x00\n')},
                 "a.md:5: line of chunk 'first' does not read back verbatim (a NUL character?)", id='nul-in-a-chunk'),
    pytest.param({'a.md': '# A\rProse.\n\n' + chunk_a('x = 1\n')[5:]},
                 'a.md:1: carriage return (CR) inside a line: save the file with LF line endings', id='lone-cr'),
    pytest.param({'a.md': '# A\n\n```{chunk} first\nx = 1'}, 'a.md:3: chunk fence ``` is never closed',
                 id='unclosed-fence-and-no-final-newline'),
    pytest.param({'notes.md': b'# Notes\ncaf\xe9\n'}, 'notes.md:2: not valid UTF-8', id='stray-markdown-not-utf8'),
    # the table of contents and the configuration
    pytest.param({'_toc.yml': TOC.replace('file: b', 'file: ../x'), '../x.md': chunk_a('z = 3\n')},
                 f"_toc.yml:5: '../x' {OUTSIDE}", id='toc-entry-outside-the-book'),
    pytest.param({'_toc.yml': TOC.replace('file: b', 'file: /x')}, f"_toc.yml:5: '/x' {OUTSIDE}",
                 id='toc-entry-with-absolute-path'),
    pytest.param({'b.md': None, 'b.md/notes.txt': 'not a chapter\n'},
                 "_toc.yml:5: 'b' names no file (b.md is a folder, not a file)", id='chapter-is-a-folder'),
    pytest.param({'_toc.yml': None, '_toc.yml/notes.txt': 'not a toc\n'}, '_toc.yml:1: cannot read: Is a directory',
                 id='toc-is-a-folder'),
    pytest.param({'_toc.yml': ''}, '_toc.yml:1: empty: it must name at least the root document', id='empty-toc'),
    pytest.param({'_toc.yml': TOC.replace('root: index', 'root: home')},
                 "_toc.yml:2: 'home' names no file (home.md does not exist)", id='toc-root-missing'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions: [colon_fence\n'},
                 "_config.yml:3: not valid YAML: expected ',' or ']', but got '<stream end>'", id='config-not-yaml'),
    # one reading of a chunk: what the book would render as a chunk, or would not, is never read otherwise
    pytest.param({'a.md': chunk_a('x = 1\n', fence='```{Chunk} first')},
                 "a.md:3: '{Chunk}': write {chunk} in lower case", id='chunk-spelled-with-a-capital'),
    pytest.param({'a.md': chunk_a('x = 1\n', fence='```{chunk}first')},
                 "a.md:3: '{chunk}first' is not a chunk to the book (it shows plain code): put a space between "
                 '{chunk} and the name', id='no-space-before-the-name'),
    pytest.param({'a.md': '# A\n\n````{exercise}\n```{chunk} first\nx = 1\n```\n````\n'},
                 'a.md:4: chunk fence inside exercise (line 3): the book would show it there, but a chunk must '
                 'stand at the top level of its chapter', id='chunk-inside-an-exercise'),
    pytest.param({'a.md': '# A\n\n````{only} html\n```{chunk} first\nx = 1\n```\n````\n'},
                 'a.md:4: chunk fence inside only (line 3): the book would show it there, but a chunk must '
                 'stand at the top level of its chapter', id='chunk-inside-only'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions: [colon_fence]\n', 'a.md': '# A\n\n:::{solution} ex-1\n```{chunk} first\nx = 1\n```\n:::\n'},
                 'a.md:4: chunk fence inside solution (line 3): the book would show it there, but a chunk must '
                 'stand at the top level of its chapter', id='chunk-inside-a-colon-solution'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions: [colon_fence]\n', 'a.md': '# A\n\n::::{dropdown} More\n```{chunk} first\nx = 1\n```\n::::\n'},
                 'a.md:4: chunk fence inside dropdown (line 3): the book would show it there, but a chunk must '
                 'stand at the top level of its chapter', id='chunk-inside-a-dropdown'),
    pytest.param({'a.md': '# A\n\n```python\nopen = True\n\n```{chunk} first\nx = 1\n'},
                 'a.md:6: chunk fence inside the fence opened at line 3, which is never closed: close that fence first',
                 id='chunk-after-a-fence-left-open'),
    pytest.param({'a.md': chunk_a('x = 1\n```\u200b\nProse that would be read as code.\n')},
                 "a.md:5: '```U+200B' would end chunk 'first' but for an invisible character: delete it, or the "
                 'chunk runs on into the prose', id='chunk-closed-by-a-line-with-a-zero-width-space'),
    pytest.param({'a.md': chunk_a('x = 1\n', fence='```{chunk} first\u200b')},
                 "a.md:3: chunk name 'firstU+200B' is not one kebab-case word", id='invisible-character-in-a-name'),
    pytest.param({'_toc.yml': TOC.replace('file: b', 'file: nb'), 'nb.ipynb':
                  '{"cells": [{"cell_type": "markdown", "metadata": {},\n "source": ["```{chunk} x\\n", "y = 1\\n", "```"]}],\n'
                  ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'},
                 'nb.ipynb:2: chunk fence in a notebook chapter: the book would show it, but tangle reads chunks from '
                 'Markdown chapters only: move it to a .md chapter', id='chunk-in-a-notebook-chapter'),
    # what tangle cannot read as the book does: an include, reStructuredText
    pytest.param({'_config.yml': 'exclude_patterns: [parts/*]\n',
                  'a.md': chunk_a('x = 1\n') + '\n```{include} parts/more.md\n```\n',
                  'parts/more.md': 'More.\n\n```{chunk} more\ny = 1\n```\n'},
                 'a.md:7: include of parts/more.md, whose line 3 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-in-an-included-file'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions: [colon_fence]\n',
                  'a.md': chunk_a('x = 1\n') + '\n:::{note}\n```{include} /more.txt\n```\n:::\n',
                  'more.txt': 'More.\n\n```{chunk} more\ny = 1\n```\n'},
                 'a.md:8: include of more.txt, whose line 3 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-in-a-text-file-included-from-the-root-inside-a-note'),
    pytest.param({'a.md': chunk_a('x = 1\n') + '\n```{include} more.txt\n:start-after: MARK\n:end-line: 6\n```\n',
                  'more.txt': '```{chunk} before\ny = 0\n```\nMARK\n\n```{chunk} more\ny = 1\n```\n'},
                 'a.md:7: include of more.txt, whose line 6 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-in-the-part-an-include-brings-in'),
    pytest.param({'a.md': chunk_a('x = 1\n') + '\n```{include} more.txt\n---\nstart-line: -3\n---\n```\n',
                  'more.txt': 'Prose.\n\n```{chunk} more\ny = 1\n```\n'},
                 'a.md:7: include of more.txt, whose line 3 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-in-the-last-lines-an-include-brings-in'),
    pytest.param({'a.md': chunk_a('x = 1\n') + '\n```{include} more.txt\n```\n',
                  'more.txt': 'Prose.\u2028```{chunk} more\ny = 1\n```\n'},
                 'a.md:7: include of more.txt, whose line 2 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-after-a-line-separator-in-an-included-file'),
    pytest.param({'_toc.yml': TOC.replace('file: b', 'file: r'), 'r.rst': 'R\n=\n\n.. include:: more.txt\n   :end-line: 3\n',
                  'more.txt': '.. chunk:: more\n\n   y = 1\n'},
                 'r.rst:4: include of more.txt, whose line 1 is a chunk fence: the book would render the chunk '
                 'here, but tangle reads a chunk only where a chapter writes it: move the chunk into the chapter',
                 id='chunk-in-the-part-an-rst-include-brings-in'),
    pytest.param({'a.md': chunk_a('x = 1\n') + '\n```{eval-rst}\n.. chunk:: more\n\n   y = 1\n```\n'},
                 'a.md:8: chunk directive in reStructuredText (inside eval-rst, line 7): the book would render it, '
                 'but tangle reads only chunks written as Markdown fences: write it as ```{chunk} NAME at the top level',
                 id='chunk-directive-in-eval-rst'),
    pytest.param({'_toc.yml': TOC.replace('file: b', 'file: r'), 'r.rst': 'R\n=\n\n.. chunk:: more\n\n   y = 1\n'},
                 'r.rst:4: chunk directive in a reStructuredText chapter: the book would render it, but tangle reads '
                 'chunks from Markdown chapters only: move it to a .md chapter as ```{chunk} NAME',
                 id='chunk-directive-in-an-rst-chapter'),
    # MyST-NB's cut of a notebook chapter into cells
    pytest.param({'a.md': NB + chunk_a('x = 1\n') + '\n+++ {"tags": ["remove-cell"]}\n\n```{chunk} hidden\ny = 1\n```\n'},
                 "a.md:14: chunk 'hidden' is in a Markdown cell tagged remove-cell (the +++ at line 12), which the "
                 'book drops: remove the tag, or end the cell before the chunk', id='chunk-in-a-removed-markdown-cell'),
    pytest.param({'a.md': NB + chunk_a('x = 1\n') + '\n```{code-cell} python\n1\n```\n\n+++ {"tags": ["remove_cell"]}\n'
                          '\n```{chunk} hidden\ny = 1\n```\n'},
                 "a.md:18: chunk 'hidden' is in a Markdown cell tagged remove-cell (the +++ at line 16), which the "
                 'book drops: remove the tag, or end the cell before the chunk', id='chunk-in-a-removed-cell-after-code'),
    pytest.param({'a.md': NB + chunk_a('x = 1\n') + '\n+++ {"tags": "remove-cell"}\n\nProse.\n'},
                 "a.md:1: MyST-NB cannot read it as a notebook: 'remove-cell' is not of type 'array'",
                 id='cell-tags-a-string'),
    *(pytest.param({'a.md': NB + f'# A{sep}more\n\n```{{chunk}} first\nx = 1\n```\n'},
                   f'a.md:6: line separator {shown} in a notebook chapter: MyST-NB would split the line there and cut '
                   'the chapter into cells at the wrong lines, so a chunk could vanish from the book: delete it',
                   id=f'line-separator-{shown}-in-a-notebook')
      for sep, shown in (('\u2028', 'U+2028'), ('\x85', 'U+0085'), ('\x0c', 'U+000C'))),
    pytest.param({'a.md': NB + '# A\u2028more\n\n```{code-cell} python\n1\n```\n\n````markdown\n```{chunk} shown\n'
                          'y = 1\n```\n````\n'},
                 'a.md:6: line separator U+2028 in a notebook chapter: MyST-NB would split the line there and cut '
                 'the chapter into cells at the wrong lines, so a chunk could vanish from the book: delete it',
                 id='line-separator-in-a-notebook-whose-only-chunk-is-an-example'),
    # configuration and table of contents of the wrong shape
    pytest.param({'_config.yml': '- parse\n- x\n'}, '_config.yml:1: must be a mapping of settings (key: value), not list',
                 id='config-a-list'),
    pytest.param({'_config.yml': 'title: T\nparse: colon_fence\n'},
                 "_config.yml:2: 'parse' must be a mapping (myst_enable_extensions: [...]), not str", id='config-parse-a-string'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions: colon_fence\n'},
                 "_config.yml:2: 'myst_enable_extensions' must be a list of extension names, e.g. [colon_fence, dollarmath]",
                 id='config-extensions-a-string'),
    pytest.param({'_config.yml': 'parse:\n  myst_enable_extensions:\n    - colon_fence\n    - colon_fences\n'},
                 "_config.yml:4: unknown MyST extension 'colon_fences' in myst_enable_extensions", id='config-unknown-extension'),
    pytest.param({'_toc.yml': 'format: jb-book\nroot: index\nchapters:\n- file: a\n- glob: b*\n'},
                 "_toc.yml:5: glob entry 'b*': list the chapters one by one, so that the order of the program is written down",
                 id='toc-glob'),
    pytest.param({'_toc.yml': TOC + '- file: a.md\n'},
                 "_toc.yml:6: 'a' is listed twice (first at _toc.yml:4): a chapter appears once in the book",
                 id='toc-file-listed-twice-under-two-spellings'),
]


@pytest.mark.parametrize('mode', ['tangle', '--check', '--stitch'])
@pytest.mark.parametrize('changes, message', BAD)
def test_bad_input_exits_2_naming_file_and_line_and_writes_nothing(changes, message, mode, tmp_path, capsys):
    """One located line on stderr, exit 2, and every file of the book byte-identical, microgpt.py included."""
    root = book_with(tmp_path / 'book', changes)
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    before = snapshot(root)
    code = tangle.main(['--root', str(root), '-o', str(target)] + ([mode] if mode != 'tangle' else []))
    captured = capsys.readouterr()
    assert (code, captured.out, captured.err) == (2, '', f'tangle: {message}\n')  # the same in every mode
    assert snapshot(root) == before


def test_an_unreadable_chapter_exits_2_naming_it(tmp_path, capsys, monkeypatch):
    """Reading a.md fails with EACCES (simulated: the tests run as root, for whom chmod 000 does not stop reads)."""
    root = book_with(tmp_path, {})
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    read_bytes = Path.read_bytes

    def refuse_a_md(path):
        if path.name == 'a.md':
            raise PermissionError(13, 'Permission denied', str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, 'read_bytes', refuse_a_md)
    code = tangle.main(['--root', str(root), '-o', str(target)])
    assert (code, capsys.readouterr().err) == (2, 'tangle: a.md:1: cannot read: Permission denied\n')
    assert target.read_bytes() == SENTINEL


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads a file whatever its mode; the simulated test covers this')
def test_a_chapter_with_mode_000_exits_2_naming_it(tmp_path, capsys):
    """The same with a real chmod 000, where it means something."""
    root = book_with(tmp_path, {})
    (root / 'a.md').chmod(0)
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    assert tangle.main(['--root', str(root), '-o', str(target)]) == 2
    assert capsys.readouterr().err == 'tangle: a.md:1: cannot read: Permission denied\n'
    assert target.read_bytes() == SENTINEL


# ---------------------------------------------------------------- odd but harmless: the same program


def test_a_byte_order_mark_at_the_start_of_a_chapter_is_dropped_and_never_reaches_microgpt_py(tmp_path):
    """Sphinx reads chapters as utf-8-sig; so does tangle.py, even when the chunk fence is the first line."""
    root = book_with(tmp_path, {'a.md': '\ufeff```{chunk} first\nx = 1\ny = 2\n```\n'})
    book = tangle.read_book(root)
    assert book.text == 'x = 1\ny = 2\nprint(x + y)\n'
    assert book.chunk('first').body_line == 2


def test_a_chapter_without_a_final_newline_tangles_the_same(tmp_path):
    """The closing fence may be the last bytes of the file."""
    root = book_with(tmp_path, {'a.md': chunk_a('x = 1\ny = 2\n')[:-1]})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'


def test_chunk_syntax_shown_inside_a_longer_plain_fence_is_an_example_not_a_chunk(tmp_path):
    """A ````markdown fence may show how a chunk is written; its inner ```{chunk} is neither tangled nor refused."""
    example = '\n````markdown\n```{chunk} shown\nz = 3\n```\n````\n'
    root = book_with(tmp_path, {'a.md': A + example})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'


def test_an_include_shown_as_code_or_holding_no_chunk_is_read_as_before(tmp_path):
    """Only an include that brings a chunk into a chapter is refused: shown as code, or chunk-free, it is fine."""
    root = book_with(tmp_path, {'_config.yml': 'exclude_patterns: [parts/*]\n',
                                'a.md': chunk_a('x = 1\n') + '\n```{include} parts/more.md\n:literal:\n```\n\n'
                                        '```{include} parts/prose.md\n```\n',
                                'parts/more.md': '```{chunk} more\ny = 1\n```\n', 'parts/prose.md': 'Prose.\n'})
    assert tangle.read_book(root).text == 'x = 1\nprint(x + y)\n'


def test_a_notebook_chapter_with_cells_is_read_as_before_when_no_chunk_is_hidden(tmp_path):
    """Cells cut at +++ and code cells, a removed cell without a chunk, and a line separator outside a notebook."""
    a_md = (NB + chunk_a('x = 1\n') + '\n+++ {"tags": ["remove-cell"]}\n\nHidden prose.\n\n+++\n\n'
            '```{code-cell} python\n:tags: [remove-cell]\n1\n```\n\n```{chunk} more\nz = 3\n```\n')
    root = book_with(tmp_path, {'a.md': a_md, 'b.md': '# B\u2028more\n\n```{chunk} second\nprint(x + y)\n```\n'})
    assert tangle.read_book(root).text == 'x = 1\nz = 3\nprint(x + y)\n'


@pytest.mark.parametrize('options, more', [
    (':start-line: 3\n', '```{chunk} more\ny = 1\n```\nProse after the chunk.\n'),
    (':end-line: 2\n', 'Prose.\n\n```{chunk} more\ny = 1\n```\n'),
    ('---\nend-before: "```{chunk}"\n---\n', 'Prose.\n\n```{chunk} more\ny = 1\n```\n'),
    (':start-after: END\n', '```{chunk} more\ny = 1\n```\nEND\nProse.\n'),
    (':start-after: NOT THERE\n', '```{chunk} more\ny = 1\n```\n'),
], ids=['start-line', 'end-line', 'end-before-in-a-yaml-block', 'start-after', 'start-after-text-missing'])
def test_an_include_whose_options_leave_the_chunk_out_is_read(tmp_path, options, more):
    """The include's options cut the file as MyST's include does: a chunk outside the part brought in is not in
    the book, and blocks nothing (where the mark is missing, the build reports it and brings nothing in)."""
    root = book_with(tmp_path, {'a.md': chunk_a('x = 1\n') + f'\n```{{include}} more.txt\n{options}```\n',
                                'more.txt': more})
    assert tangle.read_book(root).text == 'x = 1\nprint(x + y)\n'


def test_an_include_shown_inside_a_code_example_is_not_refused(tmp_path):
    """```{include}``` written inside a plain fence is an example: the book shows it, and includes nothing."""
    root = book_with(tmp_path, {'a.md': chunk_a('x = 1\n') + '\n````markdown\n```{include} more.txt\n```\n````\n',
                                'more.txt': '```{chunk} more\ny = 1\n```\n'})
    assert tangle.read_book(root).text == 'x = 1\nprint(x + y)\n'
