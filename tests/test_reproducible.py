"""The same chapters give the same bytes, and the program they make gives the same numbers, every time."""

import gc
import json
import os
import shutil
import subprocess
import sys

import pytest

import tangle

TANGLE = str(tangle.ROOT / 'tangle.py')
FIRST_PARAMETERS = ('import json, sys, tangle; m = tangle.load("parameters", sys.argv[1]); '
                    'print(json.dumps([[p.data for p in m.params[:20]], m.output]))')


@pytest.fixture
def book_copy(tmp_path):
    """A copy of the chapters, TOC and config (the working tree may change while the tests run)."""
    shutil.copytree(tangle.ROOT / 'book', tmp_path / 'book')
    for name in ('_toc.yml', '_config.yml'):
        shutil.copy2(tangle.ROOT / name, tmp_path / name)
    return tmp_path


def run(args, hash_seed):
    """Run Python with args under a given PYTHONHASHSEED (set and dict orders change with it); stdout."""
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tangle.ROOT,
                          env={**os.environ, 'PYTHONHASHSEED': hash_seed})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tangling_twice_gives_byte_identical_files(book_copy):
    """Two runs of `tangle.py -o`, in two interpreters with different hash seeds, write the same bytes."""
    first, second = book_copy / 'first.py', book_copy / 'second.py'
    run([TANGLE, '--root', str(book_copy), '-o', str(first)], '1')
    run([TANGLE, '--root', str(book_copy), '-o', str(second)], '2')
    assert first.read_bytes() == second.read_bytes() == tangle.read_book(book_copy).text.encode('utf-8')


@pytest.mark.skipif(tangle.names_file() is None, reason='the names data is not here (set MICROGPT_NAMES)')
def test_loading_the_program_through_parameters_twice_gives_identical_values(book_copy):
    """The first 20 parameters and the printed lines are the same in-process twice and in a fresh interpreter."""
    gc_was_enabled = gc.isenabled()
    try:
        first = tangle.load('parameters', root=book_copy)
        second = tangle.load('parameters', root=book_copy)
    finally:
        gc.enable() if gc_was_enabled else gc.disable()  # the program switches the collector off
    values = [p.data for p in first.params[:20]]
    assert len(set(values)) == 20 and all(isinstance(v, float) for v in values)
    assert values == [p.data for p in second.params[:20]]
    assert first.output == second.output != ''
    assert json.loads(run(['-c', FIRST_PARAMETERS, str(book_copy)], '3')) == [values, first.output]
