"""microgpt.py itself: a short training run, the facts of the full data, no network, and Value's gradients."""

import math
import os
import re
import subprocess
import sys

import pytest

import tangle
from conftest import run_short

PROGRAM = tangle.ROOT / 'microgpt.py'
NAMES = tangle.names_file()
needs_names = pytest.mark.skipif(NAMES is None, reason='no names file: set MICROGPT_NAMES')


@needs_names
def test_thirty_training_steps_on_300_names_print_the_sizes_finite_losses_and_20_samples(tmp_path):
    """microgpt.py with num_steps = 30 on the first 300 names runs to the end and prints what it should."""
    assert tangle.read_book(tangle.ROOT).text == PROGRAM.read_text(encoding='utf-8')  # run_short runs this program
    result = run_short(tmp_path, steps=30, n_names=300)
    names = NAMES.read_text(encoding='utf-8').splitlines()[:300]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    lines = result.stdout.replace('\r', '\n').splitlines()

    chars = set(''.join(names))
    vocab_size = len(chars) + 1
    n_embd, block_size, n_layer = 16, 16, 1
    num_params = (vocab_size * n_embd          # wte
                  + block_size * n_embd        # wpe
                  + vocab_size * n_embd        # lm_head
                  + n_layer * (4 * n_embd * n_embd + 4 * n_embd * n_embd + n_embd * 4 * n_embd))  # attn, mlp
    assert lines[:3] == ['names: 300', f'vocab size: {vocab_size}', f'num params: {num_params}']

    losses = [float(match) for match in re.findall(r'\| loss (\S+)', result.stdout)]
    assert len(losses) == 30
    assert all(math.isfinite(loss) for loss in losses), losses
    assert re.findall(r'step +(\d+) / 30 \|', result.stdout) == [str(step) for step in range(1, 31)]

    samples = lines[lines.index('samples:') + 1:]
    assert [line[:4] for line in samples] == [f'{i:2d}. ' for i in range(1, 21)]
    assert all(set(line[4:]) <= chars and len(line[4:]) <= block_size for line in samples), samples


@needs_names
def test_the_full_names_data_gives_vocab_27_and_4192_parameters_without_training():
    """tangle.load('parameters') runs the program up to the parameters on all 32,033 names."""
    mg = tangle.load('parameters')
    assert mg.vocab_size == 27
    assert len(mg.docs) == 32033
    assert len(mg.params) == 4192
    assert mg.output == 'names: 32033\nvocab size: 27\nnum params: 4192\n'
    assert mg.chars == list('abcdefghijklmnopqrstuvwxyz')
    assert mg.decode(mg.encode('emma')) == 'emma'
    assert mg.encode('ab') == [26, 0, 1, 26]


def test_without_input_txt_and_without_network_it_exits_1_with_one_line_and_leaves_no_file(tmp_path):
    """A download through a proxy that refuses the connection fails fast, cleanly, and writes nothing."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in ('no_proxy', 'all_proxy')}
    env.update({name: 'http://127.0.0.1:9' for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')})
    result = subprocess.run([sys.executable, str(PROGRAM)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stdout == ''
    assert result.stderr.startswith('microgpt: input.txt is missing and downloading it failed:')
    assert result.stderr.count('\n') == 1 and result.stderr.endswith('\n')
    assert 'Traceback' not in result.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- Value against finite differences

VALUE_FUNCTIONS = {'log': lambda v: v.log(), 'exp': lambda v: v.exp(), 'relu': lambda v: v.relu()}
FLOAT_FUNCTIONS = {'log': math.log, 'exp': math.exp, 'relu': lambda x: max(0.0, x)}
INPUTS = (1.3, -0.7, 2.1, 0.9)


def every_operation(a, b, c, d, log, exp, relu):
    """One expression using every Value operation; e is used twice. Works on Values and on floats."""
    e = a * b + c                      # __mul__, __add__
    return (log(e) + e * e             # log; e reused
            + c ** 1.5                 # __pow__ with a non-integer exponent
            + exp(d * 0.3)             # exp, __mul__ by a number
            + relu(a + 1) + relu(b - 10)   # relu on a positive and on a negative input
            + (-d) + (2 + a)           # __neg__, __radd__
            + (a - b) + (3 - c)        # __sub__, __rsub__
            + 0.5 * d                  # __rmul__
            + a / c + b / 4 + 1 / d)   # __truediv__ by a Value and by a number, __rtruediv__


@pytest.fixture(scope='module')
def mg():
    """The program as tangled through the backward chunk."""
    return tangle.load('backward')


def test_every_value_operation_computes_the_same_number_as_plain_floats(mg):
    """The forward pass of the expression equals math on floats."""
    out = every_operation(*(mg.Value(x) for x in INPUTS), **VALUE_FUNCTIONS)
    assert isinstance(out, mg.Value)
    assert out.data == pytest.approx(every_operation(*INPUTS, **FLOAT_FUNCTIONS), rel=1e-12)


def test_backward_gives_every_input_the_gradient_of_a_central_finite_difference(mg):
    """Each input's .grad after backward() matches (f(x + h) - f(x - h)) / 2h with h = 1e-6."""
    inputs = [mg.Value(x) for x in INPUTS]
    every_operation(*inputs, **VALUE_FUNCTIONS).backward()

    def f(*xs):
        return every_operation(*(mg.Value(x) for x in xs), **VALUE_FUNCTIONS).data

    h = 1e-6
    for i, value in enumerate(inputs):
        up, down = list(INPUTS), list(INPUTS)
        up[i] += h
        down[i] -= h
        numeric = (f(*up) - f(*down)) / (2 * h)
        assert abs(value.grad - numeric) / max(1.0, abs(numeric)) < 1e-6, (i, value.grad, numeric)
    assert all(value.grad != 0 for value in inputs)


def test_a_node_used_twice_receives_the_sum_of_both_gradients(mg):
    """y = x * x + x at x = 3 gives dy/dx = 2x + 1 = 7; w = z * z with z = x + 1 gives 2z = 8."""
    x = mg.Value(3.0)
    (x * x + x).backward()
    assert x.grad == 7.0
    x = mg.Value(3.0)
    z = x + 1
    w = z * z
    w.backward()
    assert (w.grad, z.grad, x.grad) == (1.0, 8.0, 8.0)


def test_backward_on_a_graph_ten_thousand_nodes_deep_needs_no_recursion(mg):
    """A long chain of additions: no RecursionError, and the input's gradient counts every use."""
    x = mg.Value(1.0)
    y = x
    for _ in range(10000):
        y = y + x
    y.backward()
    assert x.grad == 10001.0
