"""No edit is ever lost: tangle.py knows which side changed since the last sync, refuses near misses of the
chunk fence, and writes only regular files.

The four slips a new contributor makes, end to end on a copy of the real book (the repository's tracked
files): a hand edit of microgpt.py then tangle; a chapter edit not yet tangled then --stitch; a typo in a
chunk fence; a chunk (or a plain fence) left unclosed. Each used to lose work with exit 0.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import tangle
from test_stitch import mini_book, snapshot

REPO = tangle.ROOT
TANGLE = str(REPO / 'tangle.py')
FORCE_OR_STITCH = 'run tangle.py --stitch to write them into the chapters, or tangle.py --force to discard them'


def tracked_files():
    """The repository's tracked files (the book as a contributor checks it out)."""
    listed = subprocess.run(['git', '-C', str(REPO), 'ls-files', '-z'], capture_output=True, check=True).stdout
    return [name for name in listed.decode('utf-8').split('\0') if name and (REPO / name).is_file()]


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    """A copy of the tracked files, synced once by tangle.py (so _build/tangle-state.json holds the record)."""
    root = tmp_path_factory.mktemp('book-copy')
    for name in tracked_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    assert tangle.main(['--root', str(root)]) == 0
    assert (root / tangle.STATE).is_file()
    return root


@pytest.fixture
def book(pristine, tmp_path, capsys):
    """A fresh copy of the synced copy, to make slips in."""
    shutil.copytree(pristine, tmp_path / 'b', symlinks=True)
    capsys.readouterr()
    return tmp_path / 'b'


def run(root, capsys, *options):
    """tangle.main on root: (code, out, err)."""
    code = tangle.main(['--root', str(root), *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def edit(path, old, new, count=1):
    """Replace old by new in a file (exactly count times)."""
    text = path.read_text(encoding='utf-8')
    assert text.count(old) == count, (path, old)
    path.write_text(text.replace(old, new), encoding='utf-8')


def chunk_of(root, name):
    """The chunk called name in the book under root."""
    return tangle.read_book(root).chunk(name)


# ---------------------------------------------------------------- slip 1: a hand edit, then tangle

def test_slip_1_a_hand_edit_of_microgpt_py_is_not_overwritten_by_tangle(book, capsys):
    """tangle refuses, names the edited line and what to run; the edit survives; --stitch then keeps it."""
    program = book / 'microgpt.py'
    line = next(i for i, text in enumerate(program.read_text(encoding='utf-8').split('\n'), 1)
                if text.startswith('temperature = 0.5  #'))
    edit(program, 'temperature = 0.5  #', 'temperature = 0.6  #')
    before = snapshot(book)
    code, out, err = run(book, capsys)
    assert (code, out) == (2, '')
    assert err == (f'tangle: microgpt.py:{line}: edited since the last sync (_build/tangle-state.json) '
                   f'(line {line}), and the chapters do not have these edits: {FORCE_OR_STITCH}\n')
    assert snapshot(book) == before
    code, out, err = run(book, capsys, '--check')
    assert code == 1 and err.endswith('microgpt.py was edited since the last sync (_build/tangle-state.json) '
                                      f'(line {line}) and the chapters were not: run tangle.py --stitch to write the '
                                      'edits into the chapters, or tangle.py --force to discard them\n')
    assert run(book, capsys, '--stitch')[0] == 0
    assert any(line.startswith('temperature = 0.6  #') for line in chunk_of(book, 'sample-names').lines)
    assert run(book, capsys, '--check')[0] == 0


def test_slip_1_force_discards_the_hand_edit(book, capsys):
    """--force is the one way to throw a hand edit away."""
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = 0.6  #')
    assert run(book, capsys, '--force')[0] == 0
    assert (book / 'microgpt.py').read_text(encoding='utf-8') == tangle.read_book(book).text
    assert 'temperature = 0.5' in (book / 'microgpt.py').read_text(encoding='utf-8')


def test_tangle_overwrites_freely_when_only_the_chapters_changed(book, capsys):
    """The ordinary case: a chapter edit, then tangle, writes the new program."""
    edit(book / chunk_of(book, 'sample-names').path, 'temperature = 0.5  #', 'temperature = 0.4  #')
    assert run(book, capsys)[0] == 0
    assert 'temperature = 0.4  #' in (book / 'microgpt.py').read_text(encoding='utf-8')


def test_tangle_overwrites_a_hand_edit_the_chapters_already_have(book, capsys):
    """The same edit made in both places is no conflict: nothing would be lost."""
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = 0.4  #')
    edit(book / chunk_of(book, 'sample-names').path, 'temperature = 0.5  #', 'temperature = 0.4  #')
    edit(book / chunk_of(book, 'adam').path, 'eps_adam = 0.01', 'eps_adam = 0.02')
    assert run(book, capsys)[0] == 0
    assert 'eps_adam = 0.02' in (book / 'microgpt.py').read_text(encoding='utf-8')


# ---------------------------------------------------------------- slip 2: a chapter edit, then --stitch

def test_slip_2_stitch_never_reverts_a_chapter_edit_made_since_the_last_sync(book, capsys):
    """microgpt.py unchanged, a chapter changed: nothing to stitch, and it says to tangle."""
    chapter = book / chunk_of(book, 'sample-names').path
    edit(chapter, 'temperature = 0.5  #', 'temperature = 0.4  #')
    before = snapshot(book)
    code, out, err = run(book, capsys, '--stitch')
    assert (code, err) == (0, '')
    assert out == ("microgpt.py has no edits since the last sync (_build/tangle-state.json); the chapters do (chunk "
                   "'sample-names'): nothing to stitch; run tangle.py to bring microgpt.py up to date.\n")
    assert snapshot(book) == before
    code, out, err = run(book, capsys, '--check')
    assert code == 1 and err.endswith('the chapters changed since the last sync (_build/tangle-state.json) and '
                                      'microgpt.py did not: run tangle.py (make tangle)\n')


def test_slip_2_edits_on_both_sides_in_different_chunks_are_both_kept(book, capsys):
    """A chapter edit in one chunk and a hand edit in another: stitch writes the hand edit into its chapter and
    rewrites microgpt.py with the chapter's edit; nothing is reverted."""
    edit(book / chunk_of(book, 'sample-names').path, 'temperature = 0.5  #', 'temperature = 0.4  #')
    edit(book / 'microgpt.py', 'eps_adam = 0.01', 'eps_adam = 0.02')
    code, out, err = run(book, capsys, '--stitch')
    assert (code, err) == (0, '')
    assert "chunk 'adam'" in out and "rewrote microgpt.py with the chapters' changes" in out
    program = (book / 'microgpt.py').read_text(encoding='utf-8')
    assert 'temperature = 0.4  #' in program and 'eps_adam = 0.02' in program
    assert run(book, capsys, '--check')[0] == 0


def test_slip_2_the_same_chunk_changed_on_both_sides_is_refused_naming_both(book, capsys):
    """Which edit wins is not stitch's to guess."""
    chunk = chunk_of(book, 'sample-names')
    edit(book / chunk.path, 'temperature = 0.5  #', 'temperature = 0.4  #')
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = 0.6  #')
    before = snapshot(book)
    code, out, err = run(book, capsys, '--stitch')
    assert (code, out) == (2, '')
    assert err.startswith(f"tangle: microgpt.py:{chunk.start}: chunk 'sample-names' was changed both here and in "
                          f'its chapter ({chunk.path}:{chunk.body_line - 1}) since the last sync')
    assert snapshot(book) == before
    assert run(book, capsys)[0] == 2  # nor does tangle overwrite the hand edit


# ---------------------------------------------------------------- slip 3: a typo in the fence

@pytest.mark.parametrize('typo', ['```{chunks} sample-names', '```{chunk-} sample-names', '```{ chunk} sample-names',
                                  '``{chunk} sample-names', '```{chunck} sample-names', '```chunk sample-names'])
def test_slip_3_a_typo_in_a_chunk_fence_is_refused_at_its_line_in_every_mode(book, capsys, typo):
    """The chunk no longer drops silently out of the program (nor does stitch copy it elsewhere)."""
    chunk = chunk_of(book, 'sample-names')
    edit(book / chunk.path, '```{chunk} sample-names', typo)
    before = snapshot(book)
    for mode in ([], ['--check'], ['--stitch']):
        code, out, err = run(book, capsys, *mode)
        assert (code, out) == (2, ''), mode
        assert err == (f"tangle: {chunk.path}:{chunk.body_line - 1}: '{typo}' is almost a chunk fence, but the book "
                       'shows it as something else: write ```{chunk} sample-names\n')
    assert snapshot(book) == before


# ---------------------------------------------------------------- slip 4: a fence left open

def test_slip_4_a_chunk_left_open_before_a_later_code_cell_is_refused_at_its_opening_line(book, capsys):
    """The prose after it no longer goes into microgpt.py."""
    chunk = chunk_of(book, 'generate')
    chapter = book / chunk.path
    lines = chapter.read_text(encoding='utf-8').split('\n')
    closing = chunk.body_line - 1 + len(chunk.lines)
    assert lines[closing] == '```'
    del lines[closing]
    chapter.write_text('\n'.join(lines), encoding='utf-8')
    later = next(i for i, line in enumerate(lines, 1) if i > closing and line.startswith('```{code-cell}'))
    for mode in ([], ['--check'], ['--stitch']):
        code, _, err = run(book, capsys, *mode)
        assert code == 2
        assert err == (f"tangle: {chunk.path}:{chunk.body_line - 1}: chunk 'generate' is not closed before the fence "
                       f"at line {later} ('```{{code-cell}} python'), which it swallows: close it with ```\n")


def test_slip_4_a_plain_fence_left_open_just_before_a_chunk_is_refused_at_its_line(book, capsys):
    """The chunk no longer drops out of the tangle, nor do its lines move to another chapter on stitch."""
    chunk = chunk_of(book, 'sample-names')
    chapter = book / chunk.path
    lines = chapter.read_text(encoding='utf-8').split('\n')
    fence = chunk.body_line - 2
    lines[fence:fence] = ['```python', 'example = True', '']
    chapter.write_text('\n'.join(lines), encoding='utf-8')
    for mode in ([], ['--check'], ['--stitch']):
        code, _, err = run(book, capsys, *mode)
        assert code == 2
        assert err == (f"tangle: {chunk.path}:{fence + 1}: fence '```python' is not closed before the chunk at line "
                       f'{fence + 4}, which it swallows: close it with ```\n')


def test_a_syntax_error_in_a_chunk_is_refused_at_its_chapter_line(book, capsys):
    """tangle compiles what it would write."""
    chunk = chunk_of(book, 'sample-names')
    edit(book / chunk.path, 'temperature = 0.5  #', 'temperature = = 0.5  #')
    at = next(i for i, line in enumerate(chunk.lines) if line.startswith('temperature = 0.5'))
    code, _, err = run(book, capsys)
    assert code == 2 and err.startswith(f"tangle: {chunk.path}:{chunk.body_line + at}: syntax error in chunk "
                                        f"'sample-names' (microgpt.py:{chunk.start + at}): ")


def test_stitch_refuses_a_syntax_error_in_the_edited_file_at_its_line_and_writes_nothing(book, capsys):
    """A stitch would leave chapters that every mode then refuses (and a book whose cells fail): refused at the
    line of microgpt.py, which keeps the edit; once fixed there, the stitch goes through."""
    program = book / 'microgpt.py'
    line = next(i for i, text in enumerate(program.read_text(encoding='utf-8').split('\n'), 1)
                if text.startswith('temperature = 0.5  #'))
    edit(program, 'temperature = 0.5  #', 'temperature = = 0.6  #')
    before = snapshot(book)
    code, out, err = run(book, capsys, '--stitch')
    assert (code, out) == (2, '')
    assert err.startswith(f"tangle: microgpt.py:{line}: syntax error in chunk 'sample-names': invalid syntax; "
                          'nothing was stitched: fix it in microgpt.py, then run tangle.py --stitch'), err
    assert snapshot(book) == before
    edit(program, 'temperature = = 0.6  #', 'temperature = 0.6  #')
    assert run(book, capsys, '--stitch')[0] == 0
    assert any(text.startswith('temperature = 0.6  #') for text in chunk_of(book, 'sample-names').lines)
    assert run(book, capsys, '--check')[0] == 0


def test_stitch_refuses_a_syntax_error_merged_with_the_chapters_changes_naming_the_chunk(book, capsys):
    """A chapter lengthened one chunk and the file broke another since the last sync: the merged program's lines
    are not the file's, so the refusal names the chunk and the line in it."""
    edit(book / chunk_of(book, 'adam').path, 'eps_adam = 0.01', 'eps_adam = 0.01\nextra_adam = 1')
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = = 0.6  #')
    at = next(i for i, text in enumerate(chunk_of(book, 'sample-names').lines, 1) if text.startswith('temperature'))
    before = snapshot(book)
    code, out, err = run(book, capsys, '--stitch')
    assert (code, out) == (2, '')
    assert err.startswith(f"tangle: microgpt.py: syntax error in chunk 'sample-names', its line {at} (merged with "
                          "the chapters' changes): invalid syntax; nothing was stitched"), err
    assert snapshot(book) == before


def chunk_block(lines, chunk):
    """The chapter lines (0-based slice) of a chunk: its opening fence, its body and its closing fence."""
    return slice(chunk.body_line - 2, chunk.body_line - 1 + len(chunk.lines) + 1)


def swap_chunks(root, first, second):
    """Swap two chunks written in the same chapter (first before second), fences and all."""
    one, two = chunk_of(root, first), chunk_of(root, second)
    assert one.path == two.path and one.body_line < two.body_line
    chapter = root / one.path
    lines = chapter.read_text(encoding='utf-8').split('\n')
    a, b = chunk_block(lines, one), chunk_block(lines, two)
    lines = lines[:a.start] + lines[b] + lines[a.stop:b.start] + lines[a] + lines[b.stop:]
    chapter.write_text('\n'.join(lines), encoding='utf-8')


def add_chunk(root, after, name, body):
    """A new chunk in the chapter of chunk after, just below it."""
    chunk = chunk_of(root, after)
    chapter = root / chunk.path
    lines = chapter.read_text(encoding='utf-8').split('\n')
    end = chunk_block(lines, chunk).stop
    chapter.write_text('\n'.join(lines[:end] + ['', f'```{{chunk}} {name}', *body, '```'] + lines[end:]),
                       encoding='utf-8')


def remove_chunk(root, name):
    """Delete a chunk (its fences and body) from its chapter."""
    chunk = chunk_of(root, name)
    chapter = root / chunk.path
    lines = chapter.read_text(encoding='utf-8').split('\n')
    block = chunk_block(lines, chunk)
    chapter.write_text('\n'.join(lines[:block.start] + lines[block.stop:]), encoding='utf-8')


@pytest.mark.parametrize('change, named', [
    (lambda root: add_chunk(root, 'encode-decode', 'vocab-note', ['vocab_note = vocab_size - 1', '']),
     " (chunk 'vocab-note', book/01-data/03-start-and-end.md:"),
    (lambda root: swap_chunks(root, 'special-token', 'encode-decode'), ''),
    (lambda root: remove_chunk(root, 'linear'), ''),
], ids=['added', 'reordered', 'removed'])
def test_a_hand_edit_is_refused_when_the_chapters_added_removed_or_reordered_chunks_since_the_last_sync(
        book, capsys, change, named):
    """stitch's three-way merge matches chunks by name and place: when the chapters' chunks are no longer the
    ones last synced, it cannot tell which edited line goes where. Refused at the first edited line, naming an
    added chunk; nothing is written, and tangle does not overwrite the hand edit either."""
    program = book / 'microgpt.py'
    line = next(i for i, text in enumerate(program.read_text(encoding='utf-8').split('\n'), 1)
                if text.startswith('temperature = 0.5  #'))
    change(book)
    tangle.read_book(book)  # the chapters alone are a good book
    edit(program, 'temperature = 0.5  #', 'temperature = 0.6  #')
    before = snapshot(book)
    code, out, err = run(book, capsys, '--stitch')
    assert (code, out) == (2, '')
    assert err.startswith(f'tangle: microgpt.py:{line}: edited since the last sync (_build/tangle-state.json), while '
                          f'the chapters added, removed or reordered chunks{named}'), err
    assert 'copy the edits into the chapters by hand, then run tangle.py --force' in err
    assert snapshot(book) == before
    assert run(book, capsys)[0] == 2  # the hand edit is not overwritten
    code, _, err = run(book, capsys, '--check')
    assert code == 1 and 'both changed since the last sync' in err
    assert snapshot(book) == before


# ---------------------------------------------------------------- the record: state file, else the last commit

def test_without_a_state_file_the_last_commit_is_the_record(book, capsys):
    """A fresh clone (no _build/): a hand edit is judged against the committed microgpt.py."""
    shutil.rmtree(book / '_build')
    git = ['git', '-C', str(book), '-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false']
    subprocess.run(git + ['init', '-q'], check=True)
    subprocess.run(git + ['add', '-A'], check=True)
    subprocess.run(git + ['commit', '-qm', 'x'], check=True)
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = 0.6  #')
    code, _, err = run(book, capsys)
    assert code == 2 and 'edited since the last commit' in err
    edit(book / 'microgpt.py', 'temperature = 0.6  #', 'temperature = 0.5  #')
    edit(book / chunk_of(book, 'sample-names').path, 'temperature = 0.5  #', 'temperature = 0.4  #')
    assert run(book, capsys, '--stitch')[1].startswith('microgpt.py has no edits since the last commit;')


def test_without_any_record_tangle_refuses_a_differing_file_and_force_overrides(tmp_path, capsys):
    """No state, no git: a file that differs from the chapters may be anyone's edit."""
    root = mini_book(tmp_path)
    (root / 'microgpt.py').write_text('x = 10\n', encoding='utf-8')
    code, _, err = run(root, capsys)
    assert code == 2 and err.startswith('tangle: microgpt.py:1: differs from the chapters, and there is no record')
    assert run(root, capsys, '--force')[0] == 0


def test_a_damaged_state_file_is_no_record(book, capsys):
    """The state file is a cache: unreadable, it is ignored (and the refusal is the careful one)."""
    (book / tangle.STATE).write_text('{not json', encoding='utf-8')
    edit(book / 'microgpt.py', 'temperature = 0.5  #', 'temperature = 0.6  #')
    code, _, err = run(book, capsys)
    assert code == 2 and 'no record of the last sync' in err


def test_the_state_file_is_ignored_by_git():
    """_build/ is in .gitignore, so the record is never committed."""
    assert subprocess.run(['git', '-C', str(REPO), 'check-ignore', '-q', tangle.STATE]).returncode == 0


# ---------------------------------------------------------------- output safety

@pytest.mark.parametrize('kind', ['folder', 'fifo', 'socket', 'device'])
def test_o_refuses_anything_but_a_regular_file_before_opening_it(tmp_path, capsys, kind):
    """A folder, a named pipe (which would hang), a socket, a device (as root, /dev/null would be replaced)."""
    root = mini_book(tmp_path / 'book')
    if kind == 'folder':
        target = tmp_path / 'out'
        target.mkdir()
    elif kind == 'fifo':
        target = tmp_path / 'out'
        os.mkfifo(target)
    elif kind == 'socket':
        target = tmp_path / 'out'
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
    else:
        target = Path('/dev/null')
    what = {'folder': 'a folder', 'fifo': 'a named pipe', 'socket': 'a socket', 'device': 'a device'}[kind]
    for mode in ([], ['--check'], ['--stitch'], ['--force']):
        code, out, err = run(root, capsys, '-o', str(target), *mode)
        assert (code, out) == (2, '')
        assert err == f'tangle: {target}:1: is {what}, not a regular file: tangle.py reads and writes only regular files\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['book'] + ([] if kind == 'device' else ['out']))
    if kind == 'device':
        assert Path('/dev/null').is_char_device()


def test_messages_name_the_target_under_the_root_not_microgpt_py(tmp_path, capsys):
    """-o drafts/microgpt.py: the errors about it say drafts/microgpt.py."""
    root = mini_book(tmp_path)
    (root / 'drafts').mkdir()
    target = root / 'drafts' / 'microgpt.py'
    target.write_text('x = 1\r\n', encoding='utf-8')
    code, _, err = run(root, capsys, '-o', str(target), '--stitch')
    assert code == 2 and err.startswith('tangle: drafts/microgpt.py:1: carriage return')


def test_a_full_disk_while_writing_a_chapter_names_that_chapter(tmp_path, capsys, monkeypatch):
    """The write itself fails (ENOSPC), not the creation of the temporary file."""
    root = mini_book(tmp_path)
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            raise OSError(28, 'No space left on device')

    monkeypatch.setattr(tangle.os, 'fdopen', lambda fd, *a, **k: Full(real_fdopen(fd, *a, **k)))
    lines = (root / 'microgpt.py').read_text(encoding='utf-8').replace('x = 1', 'x = 10')
    (root / 'microgpt.py').write_text(lines, encoding='utf-8')
    code, _, err = run(root, capsys, '--stitch')
    assert (code, err) == (2, 'tangle: a.md: cannot write: No space left on device\n')
    assert sorted(p.name for p in root.iterdir() if p.name.startswith('.')) == []


def test_the_command_line_refuses_a_named_pipe_without_hanging(tmp_path):
    """In a fresh Python, with a timeout: -o onto a FIFO returns at once and leaves no temporary file."""
    root = mini_book(tmp_path / 'book')
    os.mkfifo(tmp_path / 'pipe')
    result = subprocess.run([sys.executable, TANGLE, '--root', str(root), '-o', str(tmp_path / 'pipe')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and 'is a named pipe' in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['book', 'pipe']


# ---------------------------------------------------------------- references checked

def test_a_stitch_that_lengthens_a_chunk_lists_its_references_and_check_fails_until_they_are_read(book, capsys):
    """A line inserted at the top of name-loss shifts {lines}`name-loss:4` onto another line: stitch lists the
    references into the chunk, --check fails naming the shifted ones, a tangle records them as read."""
    program = book / 'microgpt.py'
    chapter = (book / 'book/04-training/02-loss.md').read_text(encoding='utf-8').splitlines()
    at = next(n for n, line in enumerate(chapter, 2) if '{lines}`name-loss:4`' in line)  # 1-based, one line down
    edit(program, '    tokens = encode(name)\n', '    name = name.strip()\n    tokens = encode(name)\n')
    code, out, err = run(book, capsys, '--stitch')
    assert (code, err) == (0, '')
    assert 'references into chunks whose length changed, to re-read: ' in out
    assert f'book/04-training/02-loss.md:{at} {{lines}}`name-loss:4`' in out  # the chapter grew a line above
    assert 'name-loss~min(block_size' in out  # an anchor that still picks its line is listed too
    code, out, err = run(book, capsys, '--check')
    assert code == 1 and out.startswith('microgpt.py equals the chapters')
    assert (f"tangle: book/04-training/02-loss.md:{at}: {{lines}}`name-loss:4`: the line it picked ('keys, values = "
            in err)
    assert 'name-loss~min(block_size' not in err  # it follows the line: nothing to re-read
    assert all('re-read it' in line for line in err.splitlines())
    assert run(book, capsys)[0] == 0
    assert run(book, capsys, '--check') == (0, 'microgpt.py equals the chapters (201 lines, 25 chunks).\n', '')


def test_check_fails_on_a_reference_that_does_not_resolve(book, capsys):
    """A {lines} role naming a missing chunk, an offset past the end, or text no line holds."""
    chapter = book / 'book' / '04-training' / '02-loss.md'
    text = chapter.read_text(encoding='utf-8')
    chapter.write_text(text + '\nSee {lines}`name-loss:40`, {lines}`name-loss~nowhere` and {lines}`no-such`.\n'
                       '\n```md\nAn example, not read: {lines}`no-such-either`\n```\n', encoding='utf-8')
    line = text.count('\n') + 2
    code, out, err = run(book, capsys, '--check')
    assert code == 1
    assert err.splitlines() == [
        f"tangle: book/04-training/02-loss.md:{line}: {{lines}}`name-loss:40` is broken: chunk 'name-loss' has 9 "
        "lines; 'name-loss:40' is outside it",
        f"tangle: book/04-training/02-loss.md:{line}: {{lines}}`name-loss~nowhere` is broken: no line of chunk "
        "'name-loss' contains 'nowhere'",
        f"tangle: book/04-training/02-loss.md:{line}: {{lines}}`no-such` is broken: unknown chunk 'no-such'"]


# ---------------------------------------------------------------- shapes of the configuration and the TOC

def test_a_chunk_example_in_readme_md_which_the_book_excludes_blocks_nothing(book, capsys):
    """README.md is in exclude_patterns: the book never reads it, so a chunk shown there is no stray chunk."""
    readme = book / 'README.md'
    readme.write_text(readme.read_text(encoding='utf-8') + '\n```{chunk} example\nx = 1\n```\n', encoding='utf-8')
    for mode in ([], ['--check'], ['--stitch']):
        assert run(book, capsys, *mode)[0] == 0, mode
    (book / 'notes.md').write_text('# Notes\n\n```{chunk} example\nx = 1\n```\n', encoding='utf-8')
    code, _, err = run(book, capsys, '--check')
    assert (code, err) == (2, "tangle: notes.md:3: chunk 'example' is in a file that _toc.yml does not list\n")


@pytest.mark.parametrize('config, message', [
    ('sphinx:\n- a\n', "_config.yml:1: 'sphinx' must be a mapping (config:, extra_extensions:, local_extensions:), "
                      'not list'),
    ('sphinx:\n  config: [a]\n', "_config.yml:2: 'sphinx: config' must be a mapping, not list"),
    ('sphinx:\n  local_extensions: [tangle]\n', "_config.yml:2: 'sphinx: local_extensions' must be a mapping "
                                                 '(name: folder), not list'),
    ('sphinx:\n  extra_extensions: sphinx_exercise\n', "_config.yml:2: 'sphinx: extra_extensions' must be a list, "
                                                        'not str'),
    ('sphinx:\n  config:\n    myst_enable_extensions: colon_fence\n', "_config.yml:3: 'myst_enable_extensions' "
                                                                      'must be a list of extension names, e.g. '
                                                                      '[colon_fence, dollarmath]'),
    ('exclude_patterns: README.md\n', "_config.yml:1: 'exclude_patterns' must be a list, not str"),
    ('only_build_toc_files: maybe\n', "_config.yml:1: 'only_build_toc_files' must be true or false, not str"),
])
def test_each_config_shape_is_checked_with_its_line(tmp_path, capsys, config, message):
    """No traceback for a config of the wrong shape: exit 2, the key and its line."""
    root = mini_book(tmp_path)
    (root / '_config.yml').write_text(config, encoding='utf-8')
    assert run(root, capsys, '--check') == (2, '', f'tangle: {message}\n')


def test_sections_nested_hundreds_deep_are_refused_with_a_message(tmp_path, capsys):
    """No RecursionError: a located refusal, both past tangle's limit and past YAML's own."""
    for depth, message in ((60, 'sections nested more than 100 deep'), (400, 'nested too deep to read')):
        lines, indent = ['format: jb-book', 'root: index', 'chapters:', '- file: a'], ''
        for i in range(depth):
            lines += [f'{indent}  sections:', f'{indent}  - file: s{i}']
            indent += '  '
        files = {'_toc.yml': '\n'.join(lines) + '\n', **{f's{i}.md': '# S\n' for i in range(depth)}}
        root = mini_book(tmp_path / str(depth))
        for name, text in files.items():
            (root / name).write_text(text, encoding='utf-8')
        code, _, err = run(root, capsys, '--check')
        assert code == 2 and err.startswith('tangle: _toc.yml:1: ') and message in err, err


def test_a_dot_slash_prefix_in_the_toc_names_the_same_document_as_sphinx(tmp_path):
    """'./a' is Sphinx's document 'a': the chunk directive compares the two, so tangle records 'a'."""
    root = mini_book(tmp_path, {'_toc.yml': 'format: jb-book\nroot: index\nchapters:\n- file: ./a\n- file: b\n'})
    assert [c.docname for c in tangle.read_book(root).chunks][0] == 'a'


def test_a_toc_of_thousands_of_pages_is_read_in_linear_time(tmp_path):
    """8,000 pages: no rescanning of _toc.yml per entry (it took seconds; it should take well under one)."""
    import time
    lines = ['format: jb-book', 'root: index', 'chapters:'] + [f'- file: p{i}' for i in range(8000)]
    (tmp_path / '_toc.yml').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    for i in range(8000):
        (tmp_path / f'p{i}.md').write_text('# P\n', encoding='utf-8')
    (tmp_path / 'index.md').write_text('# I\n', encoding='utf-8')
    began = time.process_time()
    assert len(tangle.toc_docnames(tmp_path)) == 8001
    assert time.process_time() - began < 4  # about 1 s here; the quadratic reading took about 9


def test_the_readme_quick_start_command_finds_the_chunk_of_a_line():
    """The README's first step runs as written and names a chunk and its chapter line."""
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    start = readme.index("## Contributor's quick start")
    assert start < readme.index('## Reading the book')
    command = readme[start:].split('`.venv/bin/python -c "', 1)[1].split('"`', 1)[0]
    result = subprocess.run([sys.executable, '-c', command], cwd=REPO, capture_output=True, text=True, check=True)
    chunk, line = tangle.read_book(REPO).locate(57)
    assert result.stdout == f'{chunk.name} {chunk.path}:{line}\n'
