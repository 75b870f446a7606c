"""tangle.py on tiny inline books: the exact tangle, the exact --check diff, and one exact message per bad input."""

import subprocess
import sys

import pytest

import tangle

TANGLE = str(tangle.ROOT / 'tangle.py')
SENTINEL = b'sentinel: tangle.py must leave this file alone\n'

TOC = 'format: jb-book\nroot: index\nchapters:\n- file: a\n- file: b\n'
INDEX = '# Home\n'
A = '''\
# A

```{chunk} first
x = 1
y = 2
```

Prose, and an example that is not part of the program:

```python
not_tangled = True
```
'''
B = '''\
# B

```{chunk} second
print(x + y)
```
'''


def write_book(root, files):
    """Write {relative path: text or bytes} under root; returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode('utf-8'))
    return root


def two_chapter_book(root, changes=None):
    """The two-chapter book under root, with the files in changes replaced or added; returns root."""
    return write_book(root, {'_toc.yml': TOC, 'index.md': INDEX, 'a.md': A, 'b.md': B, **(changes or {})})


def run_tangle(root, capsys, *options):
    """tangle.main in-process with --root and -o root/microgpt.py pre-filled with SENTINEL: (code, out, err).

    A plain tangle gets --force: the sentinel is no edit to keep, only a witness that bad input writes nothing."""
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    code = tangle.main(['--root', str(root), '-o', str(target), *(options or ['--force'])])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(root, capsys, message):
    """Exit 2, exactly `tangle: message` on stderr, nothing on stdout, the target untouched, no stray file."""
    before = sorted(path.name for path in root.iterdir())
    code, out, err = run_tangle(root, capsys)
    assert (code, out, err) == (2, '', f'tangle: {message}\n')
    assert (root / 'microgpt.py').read_bytes() == SENTINEL
    assert sorted(path.name for path in root.iterdir()) == sorted(set(before) | {'microgpt.py'})


# ---------------------------------------------------------------- success


def test_two_chapters_tangle_to_their_chunks_in_toc_order_and_skip_plain_python_fences(tmp_path, capsys):
    """a.md's chunk, then b.md's, exactly; the ```python example is not tangled."""
    root = two_chapter_book(tmp_path)
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'
    code, out, err = run_tangle(root, capsys)
    assert (code, err) == (0, '')
    assert out == f'wrote {root / "microgpt.py"} (3 lines from 2 chunks)\n'
    assert (root / 'microgpt.py').read_text(encoding='utf-8') == 'x = 1\ny = 2\nprint(x + y)\n'


def test_the_command_line_writes_the_tangle_and_then_check_exits_0(tmp_path):
    """`python tangle.py --root R -o T` writes T; `--check` on it prints the equality line."""
    root = two_chapter_book(tmp_path)
    target = root / 'microgpt.py'
    wrote = subprocess.run([sys.executable, TANGLE, '--root', str(root), '-o', str(target)],
                           capture_output=True, text=True)
    assert (wrote.returncode, wrote.stderr) == (0, '')
    assert target.read_text(encoding='utf-8') == 'x = 1\ny = 2\nprint(x + y)\n'
    checked = subprocess.run([sys.executable, TANGLE, '--root', str(root), '-o', str(target), '--check'],
                             capture_output=True, text=True)
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0, 'microgpt.py equals the chapters (3 lines, 2 chunks).\n', '')


def test_check_on_a_wrong_file_exits_1_with_a_unified_diff_naming_chapter_line_and_chunk(tmp_path, capsys):
    """A changed second line is reported as a.md:5 (chunk 'first'), and the file is not rewritten."""
    root = two_chapter_book(tmp_path)
    target = root / 'wrong.py'
    target.write_text('x = 1\ny = 3\nprint(x + y)\n', encoding='utf-8')
    code = tangle.main(['--check', '--root', str(root), '-o', str(target)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == (
        '--- wrong.py\n'
        '+++ the chapters (tangled)\n'
        "@@ -1,3 +1,3 @@ a.md:5 (chunk 'first')\n"
        ' x = 1\n'
        '-y = 3\n'
        '+y = 2\n'
        ' print(x + y)\n'
    )
    assert captured.err == ('tangle: wrong.py differs from the chapters: no record of the last sync: run tangle.py '
                            '--stitch to write the edits of wrong.py into the chapters, or tangle.py --force to '
                            'rewrite wrong.py from them\n')
    assert target.read_text(encoding='utf-8') == 'x = 1\ny = 3\nprint(x + y)\n'


def test_check_names_the_second_chapter_when_its_chunk_differs(tmp_path, capsys):
    """A difference on the program's third line is b.md:4 (chunk 'second')."""
    root = two_chapter_book(tmp_path)
    (root / 'microgpt.py').write_text('x = 1\ny = 2\nprint(x - y)\n', encoding='utf-8')
    assert tangle.main(['--check', '--root', str(root)]) == 1
    hunks = [line for line in capsys.readouterr().out.splitlines() if line.startswith('@@')]
    assert hunks == ["@@ -1,3 +1,3 @@ b.md:4 (chunk 'second')"]


def test_check_against_a_missing_file_exits_1_and_shows_every_line_as_added(tmp_path, capsys):
    """No microgpt.py yet: the whole tangle is the diff, and nothing is written."""
    root = two_chapter_book(tmp_path)
    assert tangle.main(['--check', '--root', str(root)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[2] == "@@ -0,0 +1,3 @@ a.md:4 (chunk 'first')"
    assert out.splitlines()[3:] == ['+x = 1', '+y = 2', '+print(x + y)']
    assert not (root / 'microgpt.py').exists()


def test_the_sphinx_external_toc_default_format_with_root_subtrees_and_entries_is_read_in_order(tmp_path):
    """`root:` plus `subtrees: - entries:` orders the chapters like `format: jb-book`; b before a here."""
    toc = 'root: index\nsubtrees:\n- entries:\n  - file: b\n  - file: a\n'
    root = two_chapter_book(tmp_path, {'_toc.yml': toc})
    book = tangle.read_book(root)
    assert book.docnames == ['index', 'b', 'a']
    assert book.text == 'print(x + y)\nx = 1\ny = 2\n'


def test_chapters_in_parts_and_nested_sections_follow_the_toc_depth_first(tmp_path):
    """jb-book parts and sections: a chapter's sections come right after it, before the next chapter."""
    toc = ('format: jb-book\nroot: index\nparts:\n- caption: One\n  chapters:\n  - file: a\n'
           '    sections:\n    - file: sub/c\n- caption: Two\n  chapters:\n  - file: b\n')
    c_md = '# C\n\n```{chunk} third\nz = 3\n```\n'
    root = two_chapter_book(tmp_path, {'_toc.yml': toc, 'sub/c.md': c_md})
    book = tangle.read_book(root)
    assert [(chunk.name, chunk.path, chunk.start) for chunk in book.chunks] == [
        ('first', 'a.md', 1), ('third', 'sub/c.md', 3), ('second', 'b.md', 4)]


def test_a_chunk_inside_a_colon_fence_is_tangled_when_colon_fence_is_off_and_refused_when_on(tmp_path):
    """tangle.py parses with the book's MyST extensions. Without colon_fence, ::: is plain text and the chunk is
    top-level; with it, the chunk sits inside a note, where the book would render it but tangle takes none."""
    a_md = A + '\n:::{note}\n```{chunk} nested\nz = 3\n```\n:::\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md, '_config.yml': 'parse:\n  myst_enable_extensions: [dollarmath]\n'})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nz = 3\nprint(x + y)\n'
    write_book(root, {'_config.yml': 'parse:\n  myst_enable_extensions: [colon_fence]\n'})
    with pytest.raises(tangle.TangleError, match=r'^a\.md:15: chunk fence inside note \(line 14\)'):
        tangle.read_book(root)


@pytest.mark.parametrize('config', ['', 'title: A book\n', 'parse:\n  myst_enable_extensions: []\n',
                                    'sphinx:\n  config:\n    myst_enable_extensions: [colon_fence]\n'])
def test_the_myst_extensions_are_jupyter_books_computed_ones_defaults_and_sphinx_config_included(tmp_path, config):
    """No parse: section (or an empty list) means Jupyter Book's default extensions, colon_fence among them;
    sphinx: config: myst_enable_extensions is what the build uses too. Either way ::: is a fence."""
    a_md = A + '\n:::{note}\n```{chunk} nested\nz = 3\n```\n:::\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md, '_config.yml': config})
    with pytest.raises(tangle.TangleError, match=r'^a\.md:15: chunk fence inside note \(line 14\)'):
        tangle.read_book(root)


def test_a_longer_fence_may_hold_triple_backticks_and_chunk_lines_keep_their_indentation(tmp_path):
    """A ````{chunk} fence ends only at ````, and the body is copied verbatim, blank lines included."""
    a_md = '# A\n\n````{chunk} first\ndef f():\n    s = """\n```\n"""\n\n    return s\n````\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert tangle.read_book(root).text == 'def f():\n    s = """\n```\n"""\n\n    return s\nprint(x + y)\n'


def test_book_records_where_each_chunk_is_written_and_where_it_lands_in_the_program(tmp_path):
    """Chunk fields: chapter path, docname, first body line in the chapter, program start and last line."""
    a_md = '# A\n\n```{chunk} first\nx = 1\ny = 2\n\n```\n'
    book = tangle.read_book(two_chapter_book(tmp_path, {'a.md': a_md}))
    first, second = book.chunks
    assert (first.name, first.path, first.docname, first.body_line, first.lines, first.start, first.last) == (
        'first', 'a.md', 'a', 4, ['x = 1', 'y = 2', ''], 1, 2)
    assert (second.start, second.last, second.body_line) == (4, 4, 4)
    assert book.chunk('second') is second
    assert book.through('first') == 'x = 1\ny = 2\n\n'
    with pytest.raises(KeyError, match="unknown chunk 'third'"):
        book.chunk('third')


# ---------------------------------------------------------------- bad input: exit 2, exact message, target untouched


def test_the_command_line_reports_an_unclosed_chunk_fence_with_exit_2_and_one_stderr_line(tmp_path):
    """`python tangle.py` on a chunk whose fence never closes: exit 2, `tangle: a.md:3: ...`, target untouched."""
    root = two_chapter_book(tmp_path, {'a.md': '# A\n\n```{chunk} first\nx = 1\ny = 2\n'})
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    result = subprocess.run([sys.executable, TANGLE, '--root', str(root), '-o', str(target)],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, '')
    assert result.stderr == 'tangle: a.md:3: chunk fence ``` is never closed\n'
    assert target.read_bytes() == SENTINEL


def test_an_unclosed_chunk_fence_names_the_line_of_the_opening_fence(tmp_path, capsys):
    """A fence opened with four backticks is not closed by three: the opening line is named."""
    root = two_chapter_book(tmp_path, {'a.md': '# A\n\n````{chunk} first\nx = 1\n```\n\nMore prose.\n'})
    assert_bad_input(root, capsys, 'a.md:3: chunk fence ```` is never closed')


def test_a_chunk_name_defined_in_two_chapters_names_both_places(tmp_path, capsys):
    """The second definition is the error's place; the first is in the message."""
    b_md = '# B\n\nSome prose.\n\n```{chunk} first\nprint(x + y)\n```\n'
    root = two_chapter_book(tmp_path, {'b.md': b_md})
    assert_bad_input(root, capsys, "b.md:5: chunk 'first' defined twice (first at a.md:3)")


def test_a_chunk_name_defined_twice_in_one_chapter_names_both_fence_lines(tmp_path, capsys):
    """Two fences with the same name in a.md: the later fence, then the earlier one."""
    a_md = '# A\n\n```{chunk} first\nx = 1\n```\n\n```{chunk} first\ny = 2\n```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert_bad_input(root, capsys, "a.md:7: chunk 'first' defined twice (first at a.md:3)")


def test_a_chunk_without_a_name_names_its_fence_line_and_shows_the_right_form(tmp_path, capsys):
    """```{chunk} with nothing after it."""
    root = two_chapter_book(tmp_path, {'a.md': '# A\n\n```{chunk}\nx = 1\ny = 2\n```\n'})
    assert_bad_input(root, capsys, 'a.md:3: chunk without a name: write ```{chunk} some-name')


def test_a_chunk_name_that_is_not_one_kebab_case_word_is_rejected(tmp_path, capsys):
    """Two words, or capitals, are not a chunk name."""
    root = two_chapter_book(tmp_path, {'a.md': '# A\n\n```{chunk} First chunk\nx = 1\ny = 2\n```\n'})
    assert_bad_input(root, capsys, "a.md:3: chunk name 'First chunk' is not one kebab-case word")


def test_a_chunk_in_a_markdown_file_that_the_toc_does_not_list_is_an_error(tmp_path, capsys):
    """drafts/c.md holds a chunk but is not in _toc.yml: it would silently miss the program."""
    c_md = '# C\n\n```{chunk} third\nz = 3\n```\n'
    root = two_chapter_book(tmp_path, {'drafts/c.md': c_md})
    assert_bad_input(root, capsys, "drafts/c.md:3: chunk 'third' is in a file that _toc.yml does not list")


def test_a_markdown_file_outside_the_toc_without_chunks_is_fine(tmp_path):
    """Notes beside the book (no chunk) do not stop the tangle."""
    root = two_chapter_book(tmp_path, {'notes.md': '# Notes\n\n```python\nx = 2\n```\n'})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'


def test_a_toc_entry_whose_file_is_missing_names_the_line_of_that_entry(tmp_path, capsys):
    """`- file: lost` on line 5 of _toc.yml with no lost.md."""
    toc = 'format: jb-book\nroot: index\nchapters:\n- file: a\n- file: lost\n- file: b\n'
    root = two_chapter_book(tmp_path, {'_toc.yml': toc})
    assert_bad_input(root, capsys, "_toc.yml:5: 'lost' names no file (lost.md does not exist)")


def test_a_toc_entry_whose_one_letter_file_is_missing_names_the_line_of_that_entry(tmp_path, capsys):
    """`- file: b` on line 5 with no b.md: line 5, not line 1 where 'format: jb-book' contains a 'b'."""
    root = write_book(tmp_path, {'_toc.yml': TOC, 'index.md': INDEX, 'a.md': A})
    assert_bad_input(root, capsys, "_toc.yml:5: 'b' names no file (b.md does not exist)")


def test_a_missing_toc_is_reported_as_file_not_found(tmp_path, capsys):
    """No _toc.yml at the root at all."""
    root = write_book(tmp_path, {'index.md': INDEX, 'a.md': A})
    assert_bad_input(root, capsys, '_toc.yml:1: file not found')


def test_a_toc_listing_a_chapter_twice_is_not_a_valid_table_of_contents(tmp_path, capsys):
    """Jupyter Book's own parser rejects it, and tangle.py says so."""
    toc = 'format: jb-book\nroot: index\nchapters:\n- file: a\n- file: b\n- file: a\n'
    root = two_chapter_book(tmp_path, {'_toc.yml': toc})
    assert_bad_input(root, capsys,
                     "_toc.yml:1: not a valid table of contents: document file used multiple times: 'a'")


def test_a_toc_that_is_not_yaml_exits_2_with_one_located_line_and_no_traceback(tmp_path, capsys):
    """An unclosed [ in _toc.yml is bad input like any other."""
    root = two_chapter_book(tmp_path, {'_toc.yml': 'format: jb-book\nroot: index\nchapters: [\n'})
    target = root / 'microgpt.py'
    target.write_bytes(SENTINEL)
    result = subprocess.run([sys.executable, TANGLE, '--root', str(root), '-o', str(target)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith('tangle: _toc.yml:') and result.stderr.count('\n') == 1
    assert 'Traceback' not in result.stderr
    assert target.read_bytes() == SENTINEL


def test_a_toc_entry_written_with_its_md_suffix_is_the_same_chapter_as_without(tmp_path):
    """`- file: a.md` is accepted by Jupyter Book, so tangle.py must read it too."""
    toc = 'format: jb-book\nroot: index\nchapters:\n- file: a.md\n- file: b\n'
    root = two_chapter_book(tmp_path, {'_toc.yml': toc})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'


def test_a_chapter_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path, capsys):
    """A Latin-1 é on line 5 of a.md."""
    a_md = b'# A\n\n```{chunk} first\nx = 1\ny = 2  # caf\xe9\n```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert_bad_input(root, capsys, 'a.md:5: not valid UTF-8')


def test_crlf_line_endings_inside_a_chunk_name_the_first_crlf_line(tmp_path, capsys):
    """A chunk whose lines 5 and 6 end in CRLF: line 5 is named, since microgpt.py is LF only."""
    a_md = '# A\n\n```{chunk} first\nx = 1\ny = 2\r\nz = 3\r\n```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert_bad_input(root, capsys, "a.md:5: CRLF line ending in chunk 'first'")


def test_crlf_line_endings_outside_chunks_are_fine(tmp_path):
    """Prose with CRLF endings does not matter to the program."""
    a_md = '# A\r\n\r\nProse.\r\n\r\n```{chunk} first\nx = 1\ny = 2\n```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert tangle.read_book(root).text == 'x = 1\ny = 2\nprint(x + y)\n'


def test_check_names_the_chunk_that_lost_its_last_line_not_the_chunk_after_it(tmp_path, capsys):
    """microgpt.py has `y = 2` that a.md no longer has: the hunk must point at a.md, not b.md."""
    root = two_chapter_book(tmp_path, {'a.md': '# A\n\n```{chunk} first\nx = 1\n```\n'})
    (root / 'microgpt.py').write_text('x = 1\ny = 2\nprint(x + y)\n', encoding='utf-8')
    assert tangle.main(['--check', '--root', str(root)]) == 1
    hunks = [line for line in capsys.readouterr().out.splitlines() if line.startswith('@@')]
    assert len(hunks) == 1 and " a.md:" in hunks[0] and "(chunk 'first')" in hunks[0], hunks


def test_a_chunk_inside_a_block_quote_is_refused_with_its_line(tmp_path, capsys):
    """A quoted chunk would be rendered inside the quote; the tangle refuses it rather than guess."""
    a_md = '# A\n\n> ```{chunk} first\n> x = 1\n> ```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert_bad_input(root, capsys, 'a.md:3: chunk inside a block quote or list: a chunk must start at the left margin')


def test_a_chunk_inside_a_list_item_is_refused_with_its_line(tmp_path, capsys):
    """Indented under a list item, the fence belongs to the list, not to the page."""
    a_md = '# A\n\n- item\n\n  ```{chunk} first\n  x = 1\n  ```\n'
    root = two_chapter_book(tmp_path, {'a.md': a_md})
    assert_bad_input(root, capsys, 'a.md:5: chunk inside a block quote or list: a chunk must start at the left margin')


def test_writing_into_a_missing_folder_exits_2_with_one_line(tmp_path, capsys):
    """-o into a folder that does not exist: a located message, no traceback."""
    root = two_chapter_book(tmp_path)
    code = tangle.main(['--root', str(root), '-o', str(root / 'nowhere' / 'microgpt.py')])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tangle: nowhere/microgpt.py: cannot write: ") and err.count('\n') == 1
    assert not (root / 'nowhere').exists()
