"""Module 4 checkpoint: the complete program learns, and the cached full run is the real one, trained once."""

import math
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # conftest.py does this too

import tangle
from conftest import run_short

NAMES = tangle.names_file()
needs_names = pytest.mark.skipif(NAMES is None, reason='no names file: set MICROGPT_NAMES')

UNIFORM_LOSS = -math.log(1 / 27)  # the loss of guessing evenly over the 27 tokens
REFERENCE_SECOND_HALF = 2.37      # mean loss over steps 501-1000 of the original program, measured here (DESIGN.md)
REFERENCE_LAST_100 = 2.28         # mean loss over steps 901-1000, measured the same way
TRAININGS_LOG = tangle.ROOT / '_build' / 'microgpt-run' / 'trainings.log'
LOSS_LINE = re.compile(r'^step +(\d+) / (\d+) \| loss (\S+)$')


def mean(values):
    """The arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def printed_losses(stdout):
    """The losses of a run's progress reports, in step order (reports are separated by carriage returns)."""
    matches = [LOSS_LINE.match(line) for line in stdout.replace('\r', '\n').splitlines()]
    found = [m for m in matches if m]
    assert [int(m.group(1)) for m in found] == list(range(1, len(found) + 1))
    return [float(m.group(3)) for m in found]


def log_lines():
    """How many trainings the cache has logged so far (0 before the first)."""
    return len(TRAININGS_LOG.read_text(encoding='utf-8').splitlines()) if TRAININGS_LOG.exists() else 0


@needs_names
def test_forty_steps_on_500_names_lower_the_loss_well_below_even_guessing(tmp_path):
    """The tangled program, cut to 40 steps on the first 500 names, ends with a clearly lower loss than it starts with.

    With seed 42 the mean of the first 10 losses is about 3.11 and of the last 10 about 2.66;
    the margins below leave room for nothing but a real failure to learn.
    """
    result = run_short(tmp_path, steps=40, n_names=500)
    assert result.returncode == 0, result.stderr
    losses = printed_losses(result.stdout)
    assert len(losses) == 40
    assert all(math.isfinite(loss) and loss > 0 for loss in losses)
    first, last = mean(losses[:10]), mean(losses[-10:])
    assert abs(first - UNIFORM_LOSS) < 0.3, f'untrained start {first:.4f} is not near even guessing'
    assert last < first - 0.3, f'mean loss went from {first:.4f} to only {last:.4f}'
    assert last < UNIFORM_LOSS - 0.4, f'last 10 steps average {last:.4f}, not well below {UNIFORM_LOSS:.4f}'


@pytest.fixture(scope='module')
def run():
    """The cached full run of the program as the chapters have it (trains once if there is no cache)."""
    return tangle.trained_run()


@needs_names
def test_the_full_run_matches_the_reference_loss_figures(run):
    """1000 steps from about the even-guessing loss down to the reference means (within 0.05)."""
    losses = run['losses']
    assert len(losses) == 1000
    assert losses == printed_losses(run['output'])
    assert abs(losses[0] - UNIFORM_LOSS) < 0.3
    assert abs(mean(losses[500:]) - REFERENCE_SECOND_HALF) < 0.05
    assert abs(mean(losses[-100:]) - REFERENCE_LAST_100) < 0.05


@needs_names
def test_the_full_run_samples_20_names_and_a_trained_load_samples_the_same(run):
    """The trained weights, put in place of the training loop, give back exactly the run's 20 samples."""
    assert len(run['samples']) == 20
    assert all(sample.strip() for sample in run['samples'])
    run_tail = run['output'].splitlines()[-20:]
    assert [line.split('. ', 1)[1] for line in run_tail] == run['samples']
    loaded = tangle.load('sample-names', trained=True)
    assert loaded.output.splitlines()[-20:] == run_tail


@needs_names
def test_a_second_call_reads_the_cache_without_training_again(run):
    """Asking for the trained run again adds no line to the trainings log."""
    before = log_lines()
    again = tangle.trained_run()
    assert log_lines() == before
    assert again['losses'] == run['losses'] and again['samples'] == run['samples']


@needs_names
def test_the_run_keeps_snapshots_of_the_weights_from_the_same_training(run):
    """Snapshots after 0, 50, 200, 500 and 1000 steps: the first is the initial weights, the last the final ones,
    and each one loads (trained=STEP) into a model whose loss on a name falls as training goes on."""
    assert sorted(map(int, run['snapshots'])) == sorted(tangle.SNAPSHOT_STEPS)
    assert run['snapshots']['1000'] == run['state_dict']
    initial = tangle.load('parameters')
    assert run['snapshots']['0'] == {k: [[p.data for p in row] for row in w] for k, w in initial.state_dict.items()}
    assert run['snapshots']['0'] != run['snapshots']['50'] != run['snapshots']['200']
    held_out = initial.docs[1000:1030]  # names training never used
    losses = []
    for step in (0, 200, 1000):
        m = tangle.load('name-loss', trained=step)
        losses.append(mean([m.name_loss(name).data for name in held_out]))
    assert losses[0] > losses[1] > losses[2], losses
    with pytest.raises(KeyError, match='no snapshot after 7 steps'):
        tangle.load('name-loss', trained=7)


@needs_names
def test_one_shared_timing_measurement_is_cached_and_plausible():
    """tangle.timings() measures once per program: a second call returns the very same figures."""
    first = tangle.timings()
    assert tangle.timings() == first
    assert len(first['names']) == tangle.TIMED_NAMES
    for key in ('forward', 'backward', 'step_gc_off', 'step_gc_on', 'in_gc_per_step'):
        assert 0 < first[key] < 60, key
    assert first['step_gc_on'] > first['in_gc_per_step'] and sum(first['collections_per_step']) > 0
