"""The base layer: the mesh's refusals, the workdir's config guard and overwrite, padding."""

import os

import jax
import ml_collections
import numpy as np
import pytest

from liverjax.base import errors, grid, mesh as mesh_lib, padding, workdir
from liverjax.evaluation import inference
from liverjax.experiment import summary


def test_mesh_refuses_more_devices_than_exist_and_uneven_batches():
  with pytest.raises(errors.ConfigError, match='only 4 available'):
    mesh_lib.make_mesh(len(jax.devices()) + 1)
  mesh = mesh_lib.make_mesh(4)
  mesh_lib.check_batch_size(64, mesh)
  with pytest.raises(errors.ConfigError, match='not divisible by the 4 devices'):
    mesh_lib.check_batch_size(18, mesh)


def test_config_guard_and_overwrite(tmp_path):
  work = str(tmp_path)
  workdir.check_config(work, {'a': 1, 'progress': True}, overwrite=False)
  for name in ('runs/x.json', 'checkpoints/x/1/f', 'report.md'):
    os.makedirs(os.path.dirname(os.path.join(work, name)), exist_ok=True)
    open(os.path.join(work, name), 'w').write('old')
  workdir.check_config(work, {'a': 1, 'progress': False}, overwrite=False)   # volatile key only
  assert os.path.exists(os.path.join(work, 'runs', 'x.json'))
  with pytest.raises(errors.WorkdirError, match='differs in a'):
    workdir.check_config(work, {'a': 2}, overwrite=False)
  assert workdir.read_json(os.path.join(work, 'config.json'))['a'] == 1
  workdir.check_config(work, {'a': 2}, overwrite=True)   # the old run's files are gone
  assert sorted(os.listdir(work)) == ['config.json']
  assert workdir.read_json(os.path.join(work, 'config.json')) == {'a': 2}


def test_a_checkpoint_of_another_model_is_a_workdir_error(tmp_path):
  """Other shapes, a missing or an extra parameter: each refused in words, not orbax's trace;
  the same tree restores."""
  from liverjax.base import checkpoints
  import jax.numpy as jnp
  checkpoints.save_state(checkpoints.checkpoint_manager(str(tmp_path)), 3,
                         {'w': jnp.arange(3.0), 'b': jnp.ones(2)})
  restore = lambda t: checkpoints.restore_latest(checkpoints.checkpoint_manager(str(tmp_path)), t)
  step, state = restore({'w': jnp.zeros(3), 'b': jnp.zeros(2)})
  assert step == 3 and np.array_equal(state['w'], [0, 1, 2])
  for other in ({'w': jnp.zeros(4), 'b': jnp.zeros(2)}, {'w': jnp.zeros(3)},
                {'w': jnp.zeros(3), 'b': jnp.zeros(2), 'c': jnp.zeros(1)}):
    with pytest.raises(errors.WorkdirError, match='does not fit the model'):
      restore(other)


def test_padding_is_never_drawn():
  data = {'x': np.arange(5, dtype=np.float32)}
  padded, n = padding.pad_rows(data, np.array([3, 1, 4]), batch_size=4)
  assert n == 3 and np.asarray(padded['x']).tolist() == [3, 1, 4, 3]
  first = np.asarray(padding.valid_first(jax.random.key(0), 3, 8))
  assert sorted(first[:3].tolist()) == [0, 1, 2] and sorted(first.tolist()) == list(range(8))


def test_the_best_size_is_the_one_with_the_best_mean_accuracy():
  config = ml_collections.ConfigDict({'arms': ('classic',)})
  records = []
  for size, right in ((64, 6), (128, 8), (256, 7)):
    for fold in range(3):
      records.append({'arm': 'classic', 'size': size, 'seed': 0, 'fold': fold,
                      'accuracy': right / 10, 'confusion': [[right, 10 - right], [0, 0]]})
  arm = summary.summarize(records, ('a', 'b'), config,
                        inference.Design.cv(3, 1, 0.5))['arms']['classic']
  assert arm['size'] == 128 and arm['accuracy']['mean'] == pytest.approx(0.8)
  assert sorted(arm['sweep']) == ['128', '256', '64']


def test_nested_stopwatch_stages_add_up_to_the_total(monkeypatch):
  """A stage inside another (GANs trained while the summary builds a pool) counts once: 'other'
  is never negative."""
  from liverjax.base import timing
  clock = iter([0.0, 1.0, 2.0, 5.0, 6.0, 7.0])   # t0, outer in, inner in, inner out, outer out, end
  monkeypatch.setattr(timing.time, 'perf_counter', lambda: next(clock))
  sw = timing.Stopwatch()
  with sw('summary'):
    with sw('GAN training'):
      pass
  s = sw.summary()
  sw.compiles.close()
  assert s['stages_s'] == {'GAN training': 3.0, 'summary': 2.0}
  assert s['total_s'] == 7.0 and s['other_s'] == 2.0


@pytest.mark.parametrize('scale', [1, 3])
def test_split_grid_returns_the_tiles_make_grid_laid_out(scale):
  images = np.random.default_rng(0).random((11, 64, 64)).astype(np.float32)
  tiles = grid.split_grid(grid.make_grid(images, ncol=4, scale=scale), ncol=4)
  assert tiles.shape == (12, 64, 64)   # three rows of four; the last cell blank
  np.testing.assert_array_equal(tiles[:11], np.round(images * 255.0) / np.float32(255.0))
  np.testing.assert_array_equal(tiles[11], np.float32(128.0 / 255.0))
  with pytest.raises(ValueError, match='not a grid of 5'):
    grid.split_grid(grid.make_grid(images, ncol=4, scale=scale), ncol=5)
