"""tangle.py on the real book: the committed microgpt.py is exactly the chapters' chunks, in book order."""

import shutil
import subprocess
import sys

import pytest

import tangle

REPO = tangle.ROOT
PROGRAM = REPO / 'microgpt.py'
BOOK = tangle.read_book(REPO)


def program_lines():
    """The committed microgpt.py, one string per line."""
    return PROGRAM.read_text(encoding='utf-8').splitlines()


def test_check_exits_0_because_the_committed_microgpt_py_equals_the_tangled_chapters(capsys):
    """`tangle.py --check` on the repository finds no difference."""
    assert tangle.main(['--check', '--root', str(REPO)]) == 0
    out = capsys.readouterr().out
    assert out == f'microgpt.py equals the chapters ({len(program_lines())} lines, {len(BOOK.chunks)} chunks).\n'


def test_every_line_of_microgpt_py_is_in_exactly_one_chunk_with_chunks_contiguous_and_names_unique():
    """Chunks tile microgpt.py: each starts where the previous ended, and their lengths sum to the file's."""
    lines = program_lines()
    names = [chunk.name for chunk in BOOK.chunks]
    assert len(names) == len(set(names)), f'duplicate chunk names: {names}'
    assert BOOK.chunks[0].start == 1
    for before, after in zip(BOOK.chunks, BOOK.chunks[1:]):
        assert after.start == before.start + len(before.lines), f'{before.name} and {after.name} gap or overlap'
    assert sum(len(chunk.lines) for chunk in BOOK.chunks) == len(lines)
    for chunk in BOOK.chunks:
        assert chunk.lines, f'chunk {chunk.name} is empty'
        assert lines[chunk.start - 1:chunk.start - 1 + len(chunk.lines)] == chunk.lines, chunk.name


def test_every_chunk_name_is_kebab_case_and_every_chunk_comes_from_a_chapter_in_the_toc():
    """Names follow the book's convention; every chunk's chapter is a TOC document."""
    for chunk in BOOK.chunks:
        assert tangle.NAME_RE.match(chunk.name), chunk.name
        assert chunk.docname in BOOK.docnames, chunk.name
        assert (REPO / chunk.path).is_file(), chunk.path


@pytest.mark.parametrize('lesson', range(1, len(BOOK.docnames) + 1), ids=BOOK.docnames)
def test_the_chunks_of_lessons_1_to_k_form_a_prefix_of_microgpt_py_that_compiles(lesson):
    """The program grows lesson by lesson: after lesson k it is the first lines of microgpt.py and valid Python."""
    so_far = set(BOOK.docnames[:lesson])
    prefix = [line for chunk in BOOK.chunks if chunk.docname in so_far for line in chunk.lines]
    assert prefix == program_lines()[:len(prefix)]
    compile(''.join(line + '\n' for line in prefix), f'microgpt.py through {BOOK.docnames[lesson - 1]}', 'exec')


def copy_of_the_book(folder):
    """A copy of the chapters, the TOC, the config and microgpt.py in folder; returns folder."""
    shutil.copytree(REPO / 'book', folder / 'book')
    for name in ('_toc.yml', '_config.yml', 'microgpt.py'):
        shutil.copy2(REPO / name, folder / name)
    return folder


@pytest.mark.parametrize('name', [chunk.name for chunk in BOOK.chunks])
def test_check_exits_1_with_a_diff_naming_the_chapter_and_chunk_when_a_chunk_loses_its_first_line(
        name, tmp_path, capsys):
    """Deleting a chunk's first line in its chapter makes --check fail and point at that chapter and chunk.

    A chunk left with no line (or only blank ones) is bad input in every mode: tangle, --check and
    --stitch all refuse it with the same message, exit 2, naming its fence.
    """
    root = copy_of_the_book(tmp_path)
    assert tangle.main(['--root', str(root)]) == 0  # the last sync, recorded
    capsys.readouterr()
    chunk = tangle.read_book(root).chunk(name)
    chapter = root / chunk.path
    text = chapter.read_text(encoding='utf-8').split('\n')
    assert text[chunk.body_line - 1] == chunk.lines[0]
    del text[chunk.body_line - 1]
    chapter.write_text('\n'.join(text), encoding='utf-8')
    committed = (root / 'microgpt.py').read_bytes()
    try:
        compile(tangle.read_book(root).text, 'microgpt.py', 'exec')
    except SyntaxError as err:  # e.g. a def line gone: the program does not compile, bad input for every mode
        for mode in ([], ['--check'], ['--stitch']):
            assert tangle.main(['--root', str(root), *mode]) == 2
            message = capsys.readouterr().err
            assert message.startswith(f'tangle: {chunk.path}:') and f'syntax error' in message, message
            assert f'(microgpt.py:{err.lineno})' in message
        assert (root / 'microgpt.py').read_bytes() == committed
        return
    except Exception:  # an empty chunk: read_book refuses it, below
        pass
    if not any(line.strip() for line in chunk.lines[1:]):  # the chunk is left empty: bad input for every mode
        for mode in ([], ['--check'], ['--stitch']):
            assert tangle.main(['--root', str(root), '-o', str(root / 'microgpt.py'), *mode]) == 2
            assert capsys.readouterr().err == f"tangle: {chunk.path}:{chunk.body_line - 1}: chunk '{name}' is empty\n"
        assert (root / 'microgpt.py').read_bytes() == committed
        return
    assert tangle.main(['--check', '--root', str(root)]) == 1
    captured = capsys.readouterr()
    hunks = [line for line in captured.out.splitlines() if line.startswith('@@ ')]
    assert len(hunks) == 1, captured.out
    assert hunks[0].endswith(f" {chunk.path}:{chunk.body_line} (chunk '{name}')")
    assert f'\n-{chunk.lines[0]}\n' in captured.out
    *moved, last = captured.err.splitlines()  # references into the chunk that now pick other lines come first
    assert last == ('tangle: microgpt.py differs from the chapters: the chapters changed since the last sync '
                    '(_build/tangle-state.json) and microgpt.py did not: run tangle.py (make tangle)')
    assert all(line.startswith('tangle: book/') and f'{{lines}}`{name}' in line
               and ('re-read it' in line or 'is broken' in line) for line in moved), moved
    assert (root / 'microgpt.py').read_bytes() == committed


def test_writing_with_o_produces_exactly_microgpt_py_and_leaves_no_temporary_file_beside_it(tmp_path):
    """`python tangle.py -o out.py` writes the committed bytes through a rename, nothing else."""
    target = tmp_path / 'out.py'
    result = subprocess.run([sys.executable, str(REPO / 'tangle.py'), '-o', str(target)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    assert result.stdout == f'wrote {target} ({len(program_lines())} lines from {len(BOOK.chunks)} chunks)\n'
    assert target.read_bytes() == PROGRAM.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ['out.py']


def test_writing_over_an_existing_file_replaces_it_whole(tmp_path):
    """An existing target with other text, of which tangle has no record, is kept unless --force; then it is
    replaced by the tangle, with no leftovers."""
    target = tmp_path / 'microgpt.py'
    target.write_text('stale\n' * 500, encoding='utf-8')
    assert tangle.main(['-o', str(target)]) == 2
    assert target.read_text(encoding='utf-8') == 'stale\n' * 500
    assert tangle.main(['-o', str(target), '--force']) == 0
    assert target.read_bytes() == PROGRAM.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ['microgpt.py']
