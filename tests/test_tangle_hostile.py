"""tangle.py's contract under hostile input, beyond the table of bad chapters (test_bad_inputs.py).

Stitch proves its result before it writes and never damages a chapter; writes are all or none, go
through symbolic links and name the real file; -o never overwrites a source; files a chapter folder
may hold that are not chapters are ignored; the TOC's sections are read as the book reads them; and
messages show invisible characters and name a CRLF program file as such.
"""

import os
from pathlib import Path

import pytest

import tangle
from test_stitch import A, PROGRAM, mini_book, snapshot, stitch
from test_tangle_errors import INDEX, write_book


# ---------------------------------------------------------------- stitch proves, then writes

def test_stitch_refuses_a_result_that_would_change_prose_outside_the_chunks(tmp_path, monkeypatch, capsys):
    """Whatever stitched_chapters computes, prove_stitch rejects chapter text that differs outside the chunks."""
    root = mini_book(tmp_path)
    real = tangle.stitched_chapters

    def damaging(book, bodies, name):
        texts = real(book, bodies, name)
        return {path: text.replace('Prose.', 'Prose damaged.') for path, text in texts.items()}

    monkeypatch.setattr(tangle, 'stitched_chapters', damaging)
    before = snapshot(root)
    code, out, err = stitch(root, capsys, ['x = 10'] + PROGRAM[1:])
    assert (code, out) == (2, '')
    assert err == 'tangle: a.md:3: cannot stitch safely: a.md would change outside its chunks\n'
    assert {k: v for k, v in snapshot(root).items() if k != 'microgpt.py'} == \
           {k: v for k, v in before.items() if k != 'microgpt.py'}


def test_stitch_refuses_a_result_that_changes_a_chunk_nobody_edited(tmp_path, monkeypatch, capsys):
    """A body handed to the wrong chunk (here: 'third' changed too) is caught by the proof."""
    root = mini_book(tmp_path)
    real = tangle.stitch

    def wrong_chunk(book, edited, name):
        bodies = real(book, edited, name)
        bodies['third'] = ['print(z)  # moved', 'total = x + y + z']
        return bodies

    monkeypatch.setattr(tangle, 'stitch', wrong_chunk)
    code, _, err = stitch(root, capsys, ['x = 10'] + PROGRAM[1:])
    assert code == 2 and err == 'tangle: microgpt.py:6: cannot stitch safely: the stitched chapters would not tangle to this file\n'


def test_the_proof_passes_a_correct_stitch_through(tmp_path, capsys):
    """The ordinary case still writes: the proof is not a refusal of everything."""
    root = mini_book(tmp_path)
    assert stitch(root, capsys, ['x = 10'] + PROGRAM[1:])[0] == 0
    assert tangle.read_book(root).lines == ['x = 10'] + PROGRAM[1:]


# ---------------------------------------------------------------- writes: all or none, through links, real names

def test_a_symlinked_chapter_is_written_through_and_stays_a_link(tmp_path, capsys):
    """Stitching into a chapter that is a symbolic link updates the file it leads to; the link is kept."""
    root = mini_book(tmp_path / 'book')
    elsewhere = tmp_path / 'elsewhere' / 'a.md'
    elsewhere.parent.mkdir()
    (root / 'a.md').rename(elsewhere)
    (root / 'a.md').symlink_to(elsewhere)
    assert stitch(root, capsys, ['x = 10'] + PROGRAM[1:])[0] == 0
    assert (root / 'a.md').is_symlink() and os.readlink(root / 'a.md') == str(elsewhere)
    assert 'x = 10\n' in elsewhere.read_text(encoding='utf-8')


def test_a_failed_rename_puts_back_the_chapters_already_replaced(tmp_path, monkeypatch):
    """Two chapters to write; the second rename fails: the first chapter has its old bytes again."""
    first, second = tmp_path / 'a.md', tmp_path / 'b.md'
    first.write_text('old a\n', encoding='utf-8')
    second.write_text('old b\n', encoding='utf-8')
    real_replace, calls = os.replace, []

    def failing_second(src, dst):
        calls.append(dst)
        if Path(dst) == second:
            raise OSError(28, 'No space left on device')
        return real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', failing_second)
    with pytest.raises(OSError) as caught:
        tangle.write_all_atomically({first: 'new a\n', second: 'new b\n'})
    assert caught.value.filename == str(second)  # the real file, not a temporary one
    assert first.read_text(encoding='utf-8') == 'old a\n' and second.read_text(encoding='utf-8') == 'old b\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.md', 'b.md']  # no temporary file left


def test_a_stitch_that_cannot_write_names_the_chapter_not_a_temporary_file(tmp_path, monkeypatch, capsys):
    """mkstemp fails in the chapter's folder: the message names a.md."""
    root = mini_book(tmp_path)
    real_mkstemp = tangle.tempfile.mkstemp

    def no_space(*args, **kwargs):
        if kwargs.get('prefix', '').startswith('.a.md'):
            raise OSError(28, 'No space left on device', kwargs.get('dir'))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tangle.tempfile, 'mkstemp', no_space)
    code, _, err = stitch(root, capsys, ['x = 10'] + PROGRAM[1:])
    assert (code, err) == (2, 'tangle: a.md: cannot write: No space left on device\n')


# ---------------------------------------------------------------- -o never overwrites a source

@pytest.mark.parametrize('target', ['a.md', '_toc.yml', '_config.yml', 'notes.md', 'ext/helper.py'])
@pytest.mark.parametrize('mode', [[], ['--stitch']])
def test_o_refuses_a_file_the_book_reads(target, mode, tmp_path, capsys):
    """A chapter, the TOC, the configuration, a stray page, a local extension: exit 2, the file unchanged."""
    root = mini_book(tmp_path, {'_config.yml': 'sphinx:\n  local_extensions:\n    helper: ext\n',
                                'notes.md': '# Notes\n', 'ext/helper.py': 'def setup(app): pass\n'})
    before = snapshot(root)
    code = tangle.main(['--root', str(root), '-o', str(root / target), *mode])
    assert (code, capsys.readouterr().err) == (
        2, f'tangle: {root / target}:1: is a file the book reads; tangle.py writes only the program: '
           'choose another output path\n')
    assert snapshot(root) == before


def test_o_refuses_a_link_to_a_chapter(tmp_path, capsys):
    """A path that leads to a chapter through a symbolic link is a chapter too."""
    root = mini_book(tmp_path / 'book')
    (tmp_path / 'link.py').symlink_to(root / 'a.md')
    assert tangle.main(['--root', str(root), '-o', str(tmp_path / 'link.py')]) == 2
    assert (root / 'a.md').read_text(encoding='utf-8') == A


# ---------------------------------------------------------------- what a chapter folder may hold

def test_editor_locks_backups_dot_files_and_dangling_links_are_not_chapters(tmp_path):
    """Files no book reads, even with chunk fences in them, are ignored; so is a link to nowhere."""
    root = mini_book(tmp_path, {'a.md~': A.replace('first', 'backup'), '#a.md#': A.replace('first', 'autosave'),
                                '.hidden.md': A.replace('first', 'hidden')})
    (root / '.#a.md').symlink_to('user@host.1234:1700000000')  # how Emacs marks a file being edited
    (root / 'gone.md').symlink_to(root / 'nowhere.md')
    assert tangle.read_book(root).lines == PROGRAM


def test_sections_in_the_toc_are_read_in_the_book_order(tmp_path):
    """chapters with sections: a chapter, then its sections depth first, then the next chapter."""
    toc = 'format: jb-book\nroot: index\nchapters:\n- file: a\n  sections:\n  - file: s\n- file: b\n'
    root = write_book(tmp_path, {'_toc.yml': toc, 'index.md': INDEX, 'a.md': '# A\n\n```{chunk} one\nx = 1\n```\n',
                                 's.md': '# S\n\n```{chunk} two\nx = 2\n```\n', 'b.md': '# B\n\n```{chunk} three\nx = 3\n```\n'})
    assert [c.name for c in tangle.read_book(root).chunks] == ['one', 'two', 'three']


def test_a_chunk_shown_as_an_example_in_a_literal_fence_is_neither_tangled_nor_refused(tmp_path):
    """```markdown and {code-block} show chunk syntax as text; the book renders no chunk there, nor does tangle."""
    example = '\n````markdown\n```{chunk} example\nnot = "tangled"\n```\n````\n\n````{code-block} md\n```{chunk} x\n```\n````\n'
    root = mini_book(tmp_path, {'b.md': '# B\n' + example + '\n```{chunk} third\nprint(z)\ntotal = x + y + z\n```\n'})
    assert tangle.read_book(root).lines == PROGRAM


# ---------------------------------------------------------------- messages

def test_check_names_a_crlf_program_file_instead_of_a_diff_of_identical_looking_lines(tmp_path, capsys):
    """microgpt.py saved with CRLF endings: one line that says so, exit 1, no diff."""
    root = mini_book(tmp_path)
    (root / 'microgpt.py').write_bytes(''.join(line + '\r\n' for line in PROGRAM).encode())
    code = tangle.main(['--check', '--root', str(root)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, '')
    assert captured.err == ('tangle: microgpt.py:1: CRLF line endings; the chapters tangle to LF endings and '
                            'otherwise the same lines: run tangle.py --force to rewrite it\n')


def test_invisible_characters_are_shown_escaped():
    """shown() writes what a reader cannot see as U+XXXX and leaves the rest alone."""
    assert tangle.shown('a\u200bb\u00a0c\ufeff\x07 d\té') == 'aU+200BbU+00A0cU+FEFFU+0007 d\té'
