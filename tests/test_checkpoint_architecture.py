"""Module 3 checkpoint: the program as tangled through `logits` runs a forward pass over a real name."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # conftest.py does this too

import tangle


@pytest.fixture(scope='module')
def program():
    """microgpt as the chapters have it through the end of module 3 (the gpt function, no training)."""
    return tangle.load('logits')


@pytest.fixture(scope='module')
def forward(program):
    """The first name of the data, its token ids, and the logits at every position (one shared cache)."""
    name = program.docs[0]
    tokens = program.encode(name)
    keys = [[] for _ in range(program.n_layer)]
    values = [[] for _ in range(program.n_layer)]
    logits = [program.gpt(tokens[pos], pos, keys, values) for pos in range(len(tokens) - 1)]
    return name, tokens, logits


def test_every_position_gets_one_logit_per_token_of_the_vocabulary(program, forward):
    """27 scores per position: as many as the vocabulary has tokens."""
    _, tokens, logits = forward
    assert program.vocab_size == 27
    assert len(logits) == len(tokens) - 1
    for scores in logits:
        assert len(scores) == program.vocab_size
        assert all(isinstance(score, program.Value) for score in scores)


def test_softmax_of_the_logits_is_a_probability_distribution(program, forward):
    """Each position's probabilities are positive and sum to 1 within 1e-9."""
    _, _, logits = forward
    for scores in logits:
        probs = [p.data for p in program.softmax(scores)]
        assert all(p > 0 for p in probs)
        assert abs(sum(probs) - 1) < 1e-9


def test_initial_loss_is_close_to_guessing_uniformly(program, forward):
    """Mean -log p(next token) at the initial weights is within 0.15 of -log(1/27)."""
    _, tokens, logits = forward
    losses = [-math.log(program.softmax(scores)[tokens[pos + 1]].data) for pos, scores in enumerate(logits)]
    uniform = -math.log(1 / program.vocab_size)
    assert abs(sum(losses) / len(losses) - uniform) < 0.15


def test_the_cache_holds_one_key_and_one_value_per_position(program, forward):
    """After the pass, each layer's cache has one key and one value vector of n_embd numbers per position."""
    _, tokens, _ = forward
    keys = [[] for _ in range(program.n_layer)]
    values = [[] for _ in range(program.n_layer)]
    for pos in range(len(tokens) - 1):
        program.gpt(tokens[pos], pos, keys, values)
        assert [len(layer) for layer in keys] == [pos + 1] * program.n_layer
        assert [len(layer) for layer in values] == [pos + 1] * program.n_layer
    assert all(len(k) == program.n_embd for layer in keys for k in layer)
