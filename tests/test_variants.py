"""The runtime's variants: small named changes of the program, shown as diffs, run as the real program, cached."""

import difflib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # conftest.py does this too

import tangle  # puts book/_ext, where the runtime lives, on the path
import runtime

NAMES = tangle.names_file()
needs_names = pytest.mark.skipif(NAMES is None, reason='no names file: set MICROGPT_NAMES')
LOG = tangle.ROOT / '_build' / 'microgpt-run' / 'trainings.log'


def test_tangle_reexports_the_runtime_rather_than_a_copy():
    for name in ('load', 'trained_run', 'timings', 'variant_run', 'variant_diff', 'Book', 'Chunk', 'names_file'):
        assert getattr(tangle, name) is getattr(runtime, name), name


@pytest.mark.parametrize('name', list(runtime.VARIANTS))
def test_every_variant_changes_only_the_lines_its_diff_shows(name):
    """The changed program differs from microgpt.py exactly in the '-' lines of the diff (by their numbers),
    which are replaced by its '+' lines; the diff names the chunk."""
    real = (tangle.ROOT / 'microgpt.py').read_text(encoding='utf-8').splitlines()
    changed = runtime.program(name).lines
    diff = runtime.variant_diff(name).splitlines()
    removed = [int(line[1:5]) for line in diff if line.startswith('-')]
    added = [line[7:] for line in diff if line.startswith('+')]
    assert removed, diff
    assert all(real[n - 1] == line[7:] for n, line in zip(removed, [d for d in diff if d.startswith('-')]))
    matcher = difflib.SequenceMatcher(a=real, b=changed, autojunk=False)
    gone = [i + 1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag in ('delete', 'replace') for i in range(i1, i2)]
    came = [changed[j] for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ('insert', 'replace') for j in range(j1, j2)]
    assert (gone, came) == (removed, added)
    for edit in runtime.VARIANTS[name].edits:
        assert f'@@ {edit.chunk}, from line ' in '\n'.join(diff)


def test_a_change_whose_lines_left_the_chunk_is_refused_naming_it():
    gone = runtime.Edit('rmsnorm', '    return [xi / 2 for xi in x]\n', '    return x\n')
    with pytest.raises(ValueError, match="chunk 'rmsnorm'.*no longer has"):
        runtime.program([gone])
    with pytest.raises(ValueError, match='no chunk'):
        runtime.program([runtime.Edit('no-such-chunk', 'x', 'y')])
    with pytest.raises(KeyError, match='unknown variant'):
        runtime.program('no-such-variant')


def test_two_changes_of_the_same_lines_are_refused():
    with pytest.raises(ValueError, match="chunk 'attention-out'"):
        runtime.program(['no-residual', 'no-attention'])


def test_each_variant_has_its_own_cache_key_and_the_real_program_its_own():
    keys = {runtime.cache_path('run', name).name for name in runtime.VARIANTS}
    assert len(keys) == len(runtime.VARIANTS)
    assert runtime.cache_path('run').name not in keys


def test_a_variant_loads_as_the_program_with_its_change():
    two = tangle.load('parameters', variant=runtime.SECOND_BLOCK)
    assert two.n_layer == 2 and len(two.params) > len(tangle.load('parameters').params)
    plain = tangle.load('adam', variant='sgd-0.1')
    p = plain.params[0]
    p.grad, before = 0.5, p.data
    plain.adam_step(0)
    assert p.data == pytest.approx(before - 0.1 * 0.5)


@pytest.fixture(scope='module')
def seed_run():
    return tangle.variant_run('seed-1')


@needs_names
def test_a_variant_run_is_trained_once_and_read_from_the_cache(seed_run):
    lines = LOG.read_text(encoding='utf-8').splitlines()
    again = tangle.variant_run('seed-1')
    assert LOG.read_text(encoding='utf-8').splitlines() == lines
    assert again['losses'] == seed_run['losses']
    logged = [line.split()[0] for line in lines]
    assert len(logged) == len(set(logged)), 'a run was trained twice'


@needs_names
def test_a_variant_run_is_the_changed_program_run_whole(seed_run):
    """1000 losses; the program's 20 samples, which a load of the variant's trained weights prints again; the
    held-out names, not among its training names; 200 samples at each temperature; every group moved."""
    run = seed_run
    assert len(run['losses']) == run['num_steps'] == 1000
    assert run['losses'] != tangle.trained_run()['losses']  # another seed: another run
    loaded = tangle.load('sample-names', trained=True, variant='seed-1')
    assert loaded.output.splitlines()[-20:] == run['output'].splitlines()[-20:]
    assert [line.split('. ', 1)[1] for line in loaded.output.splitlines()[-20:]] == run['samples']
    assert len(run['heldout_names']) == runtime.HELDOUT_COUNT
    assert not set(run['heldout_names']) & set(loaded.docs[:1000])
    assert run['heldout'] == pytest.approx(sum(run['heldout_losses']) / len(run['heldout_losses']))
    m = tangle.load('name-loss', trained=True, variant='seed-1')
    assert m.name_loss(run['heldout_names'][0]).data == pytest.approx(run['heldout_losses'][0])
    assert {t: len(s) for t, s in run['samples_by_temperature'].items()} == {'1.0': 200, '0.5': 200}
    assert set(run['moved']) == set(m.state_dict) and all(v > 0 for v in run['moved'].values())


@needs_names
def test_the_program_and_its_seed_42_variants_share_their_heldout_names():
    assert tangle.trained_run()['heldout_names'] == runtime.heldout_names(
        NAMES.read_text(encoding='utf-8').split(), tangle.load('parameters').docs[:1000])


@needs_names
def test_a_knockout_uses_the_programs_trained_weights_with_the_change():
    real = tangle.trained_run()
    knocked = tangle.load('name-loss', trained=True, variant='no-mlp', weights='program')
    assert knocked.state_dict['wte'][0][0].data == real['state_dict']['wte'][0][0]
    name = real['heldout_names'][0]
    assert knocked.name_loss(name).data != pytest.approx(real['heldout_losses'][0])
    with pytest.raises(ValueError, match="weights is 'variant' or 'program'"):
        tangle.load('name-loss', trained=True, variant='no-mlp', weights='mine')


@needs_names
def test_the_snapshots_are_measured_once_as_the_run_measures_its_final_weights():
    """snapshot_run: for each kept step, the held-out losses and samples the run would give with those weights;
    the final step's are the run's own; a second call reads the same cache."""
    run, measured = tangle.trained_run(), tangle.snapshot_run()
    assert measured['steps'] == [str(s) for s in runtime.SNAPSHOT_STEPS]
    final = str(run['num_steps'])
    assert measured['heldout_losses'][final] == run['heldout_losses']
    assert measured['samples_by_temperature'][final] == run['samples_by_temperature']
    m = tangle.load('sample-names', trained=50)
    assert m.name_loss(run['heldout_names'][1]).data == measured['heldout_losses']['50'][1]
    import random
    random.seed(runtime.SAMPLE_SEED)
    assert [m.generate(0.5) for _ in range(3)] == measured['samples_by_temperature']['50']['0.5'][:3]
    assert measured['heldout_losses']['0'] != measured['heldout_losses']['50']
    assert tangle.snapshot_run() == measured
    assert runtime.cache_path('snapshots').is_file()


@needs_names
def test_the_shared_prefix_losses_are_the_programs_name_loss_to_the_last_bit():
    """runtime.name_losses walks the names as a tree of prefixes; each name's loss must still be exactly what
    the program's name_loss gives (the run stores it, the pages compare it with ==), for the program and for a
    variant whose block differs; and it refuses a program whose name_loss computes something else."""
    real = tangle.trained_run()
    names = real['heldout_names'][:60]
    m = tangle.load('name-loss', trained=True)
    assert runtime.name_losses(m, names) == [m.name_loss(n).data for n in names] == real['heldout_losses'][:60]
    knocked = tangle.load('name-loss', trained=True, variant='no-residual')
    assert runtime.name_losses(knocked, names) == [knocked.name_loss(n).data for n in names]
    assert runtime.name_losses(knocked, names) != runtime.name_losses(m, names)
    halved = m.name_loss
    m.name_loss = lambda name: halved(name) * 0.5
    with pytest.raises(RuntimeError, match="differs from the program's name_loss"):
        runtime.name_losses(m, names)


def test_the_second_block_is_a_change_the_build_does_not_train():
    assert runtime.SECOND_BLOCK not in runtime.VARIANTS.values()
    changed = [line for line in tangle.variant_diff(runtime.SECOND_BLOCK).splitlines() if line.startswith(('-', '+'))]
    assert [line.split('#')[0].split()[-3:] for line in changed] == [['n_layer', '=', '1'], ['n_layer', '=', '2']]
