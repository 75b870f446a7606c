"""Module 5 checkpoint: the trained program writes names, and the temperature controls how varied they are.

Uses the cached training run (tangle.trained_run); the first run without a cache trains once.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # conftest.py does this too

import tangle


@pytest.fixture(scope='module')
def run():
    """The full run of the program: losses, samples, trained weights and everything it printed."""
    return tangle.trained_run()


@pytest.fixture(scope='module')
def program():
    """microgpt through `generate`, with the trained weights and the random state as right after training."""
    return tangle.load('generate', trained=True)


@pytest.fixture(scope='module')
def replayed():
    """microgpt through `sample-names`, the last chunk, run on the trained weights."""
    return tangle.load('sample-names', trained=True)


def sample_lines(output):
    """The numbered sample lines at the end of what the program printed."""
    return output[output.index('samples:'):].splitlines()[1:]


def test_sampling_chunk_prints_the_samples_of_the_real_run(run, replayed):
    """Running the last chunk on the cached weights prints the same 20 sample lines as the full run."""
    lines = sample_lines(replayed.output)
    assert len(lines) == 20
    assert lines == sample_lines(run['output'])
    assert run['output'].endswith(replayed.output[replayed.output.index('samples:'):])
    assert [line.split('. ', 1)[1] for line in lines] == run['samples']


def test_generate_reproduces_the_real_samples_from_the_state_after_training(program, run, replayed):
    """Training draws no random numbers, so generate() from the loaded state writes the real run's names."""
    state = program.random.getstate()
    try:
        assert [program.generate(replayed.temperature) for _ in range(len(run['samples']))] == run['samples']
    finally:
        program.random.setstate(state)


def test_every_sample_uses_only_the_vocabulary_and_fits_the_block(program, run):
    """Each sample is made of the dataset's characters (no BOS) and has at most block_size of them."""
    allowed = set(program.chars)
    for name in run['samples']:
        assert set(name) <= allowed
        assert len(name) <= program.block_size
    assert all(name for name in run['samples'])  # no empty names in the real run


def greedy(program):
    """generate() with each draw replaced by the token of the highest logit."""
    keys = [[] for _ in range(program.n_layer)]
    values = [[] for _ in range(program.n_layer)]
    token_id, ids = program.BOS, []
    for pos in range(program.block_size):
        logits = program.gpt(token_id, pos, keys, values)
        token_id = max(range(program.vocab_size), key=lambda i: logits[i].data)
        if token_id == program.BOS:
            break
        ids.append(token_id)
    return program.decode(ids)


def test_near_zero_temperature_is_greedy_decoding(program):
    """At temperature 0.01, generate() writes the greedy name whatever the random state."""
    state = program.random.getstate()
    try:
        expected = greedy(program)
        assert expected
        for seed in (0, 1, 2, 123, 2024):
            program.random.seed(seed)
            assert program.generate(0.01) == expected
    finally:
        program.random.setstate(state)


def test_higher_temperature_gives_more_distinct_names(program):
    """From the same random state, 50 names at temperature 1.0 are far more varied than at 0.1."""
    state = program.random.getstate()
    distinct = {}
    try:
        for temperature in (0.1, 1.0):
            program.random.setstate(state)
            names = [program.generate(temperature) for _ in range(50)]
            distinct[temperature] = len(set(names))
    finally:
        program.random.setstate(state)
    assert distinct[1.0] >= 40             # nearly every name new at the model's own probabilities
    assert distinct[0.1] <= 20             # a few favorites over and over when sharpened
    assert distinct[1.0] >= 2 * distinct[0.1]


def test_temperature_zero_is_a_division_by_zero(program):
    """generate(0) cannot be greedy decoding: dividing the logits by 0 raises."""
    with pytest.raises(ZeroDivisionError):
        program.generate(0)
