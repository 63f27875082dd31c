import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from liverjax.base import checkpoints
from liverjax.base import mesh as mesh_lib
from liverjax.base import padding
from liverjax.models import classifier
from liverjax.steps import classifier as classifier_steps
from liverjax.steps import epochs

MODEL = classifier.Classifier(num_classes=3, features=(4, 8, 8), dense=16)


def _epoch_fn(tx, **kw):
  step = functools.partial(classifier_steps.train_step, model=MODEL, tx=tx)
  return functools.partial(epochs.train_epoch, step_fn=step, batch_size=8, **kw)


@pytest.fixture(scope='module')
def setup():
  tx = classifier_steps.make_optimizer(learning_rate=0.05)
  key = jax.random.key(0)
  x = jax.random.uniform(jax.random.key(1), (24, 64, 64, 1))
  y = jnp.arange(24) % 3
  # make the task learnable: brightness encodes the class
  x = x * 0.5 + y[:, None, None, None] * 0.25
  state = classifier_steps.init_state(MODEL, tx, key, x.mean(0))
  return tx, state, {'image': x, 'label': y}


def test_train_step_is_pure(setup):
  tx, state, d = setup
  step = jax.jit(functools.partial(classifier_steps.train_step, model=MODEL, tx=tx))
  batch = {'image': d['image'][:8], 'label': d['label'][:8]}
  s1, m1 = step(state, batch, jax.random.key(5))
  s2, m2 = step(state, batch, jax.random.key(5))
  chex.assert_trees_all_equal((s1, m1), (s2, m2))
  s3, _ = step(state, batch, jax.random.key(6))   # another key: other dropout masks
  assert not np.allclose(s1.params['Dense_0']['kernel'], s3.params['Dense_0']['kernel'])
  assert int(s1.step) == 1


def test_epoch_compiles_once(setup):
  tx, state, d = setup

  @jax.jit
  @chex.assert_max_traces(n=1)
  def epoch(state, data, key):
    return _epoch_fn(tx)(state, data, key)

  for _ in range(3):
    state, _ = epoch(state, d, jax.random.key(0))
  assert int(state.step) == 9


def test_loss_falls_on_fixed_data(setup):
  tx, state, d = setup
  epoch = jax.jit(_epoch_fn(tx))
  _, first = epoch(state, d, jax.random.key(0))
  for _ in range(15):
    state, last = epoch(state, d, jax.random.key(0))
  assert float(last['loss']) < 0.5 * float(first['loss']), (first, last)


def test_epoch_indices_cover_every_example():
  idx = epochs.epoch_indices(jax.random.key(0), 21, 8)
  assert idx.shape == (3, 8)
  assert set(np.asarray(idx).ravel().tolist()) == set(range(21))


def test_epoch_indices_of_padded_set_never_draw_padding():
  """n traced, rows padded to whole batches: every example once in the first n slots, then
  random top-ups below n; one compilation for every n."""
  fn = jax.jit(lambda key, n: epochs.epoch_indices(key, n, 8, 24))
  for n in (17, 21, 24):
    idx = np.asarray(fn(jax.random.key(n), jnp.int32(n))).ravel()
    assert sorted(idx[:n].tolist()) == list(range(n))
    assert idx.shape == (24,) and idx.max() < n
  assert fn._cache_size() == 1


def test_pad_rows():
  data = {'image': jnp.arange(10.0)[:, None], 'label': jnp.arange(10) % 3}
  padded, n = padding.pad_rows(data, [7, 2, 5], 4)
  assert n == 3
  np.testing.assert_array_equal(padded['image'][:, 0], [7, 2, 5, 7])
  np.testing.assert_array_equal(padded['label'], [1, 2, 2, 1])


def test_four_devices_equal_one_device(setup):
  assert jax.device_count() >= 4, 'conftest fakes 4 CPU devices'
  tx, state, d = setup
  results = []
  for n in (1, 4):
    mesh = mesh_lib.make_mesh(n)
    fn = jax.jit(_epoch_fn(tx, batch_sharding=mesh_lib.batch_sharded(mesh)))
    s = jax.device_put(state, mesh_lib.replicated(mesh))
    data = mesh_lib.put_replicated(jax.device_get(d), mesh)
    for _ in range(2):
      s, m = fn(s, data, jax.random.key(3))
    results.append(jax.device_get((s.params, m)))
    assert len(s.params['Dense_0']['kernel'].sharding.device_set) == n
  chex.assert_trees_all_close(results[0], results[1], rtol=1e-4, atol=1e-5)


def test_predict_pads_and_matches_apply(setup):
  _, state, d = setup
  logits, feats = classifier_steps.predict(state, d['image'][:13], model=MODEL, batch_size=8,
                                return_features=True)
  ref = MODEL.apply({'params': state.params, **state.model_state}, d['image'][:13])
  np.testing.assert_allclose(logits, ref, rtol=1e-5, atol=1e-5)
  assert feats.shape == (13, 16)


def test_checkpoint_round_trip_is_exact(setup, tmp_path):
  tx, state, d = setup
  state, _ = jax.jit(_epoch_fn(tx))(state, d, jax.random.key(0))
  mngr = checkpoints.checkpoint_manager(str(tmp_path / 'ckpt'))
  checkpoints.save_state(mngr, 3, state)
  fresh = classifier_steps.init_state(MODEL, tx, jax.random.key(9), jnp.zeros((64, 64, 1)))
  step, restored = checkpoints.restore_latest(checkpoints.checkpoint_manager(str(tmp_path / 'ckpt')),
                                          fresh)
  assert step == 3
  chex.assert_trees_all_equal(jax.device_get(restored), jax.device_get(state))


def test_async_save_keeps_the_state_of_its_call_while_training_donates_it(setup, tmp_path):
  """save_state(wait=False) returns before the write; the loop then donates the state's buffers
  to the next epoch. The checkpoint must still hold the state as it was at the call."""
  tx, state, d = setup
  epoch = jax.jit(_epoch_fn(tx), donate_argnums=0)
  state, _ = epoch(jax.tree.map(jnp.copy, state), d, jax.random.key(0))   # not the fixture's
  saved = jax.device_get(state)
  mngr = checkpoints.checkpoint_manager(str(tmp_path / 'ckpt'))
  checkpoints.save_state(mngr, 1, state, wait=False)
  state, _ = epoch(state, d, jax.random.key(1))   # overwrites the donated buffers
  jax.block_until_ready(state)
  mngr.close()   # waits for the write
  fresh = classifier_steps.init_state(MODEL, tx, jax.random.key(9), jnp.zeros((64, 64, 1)))
  step, restored = checkpoints.restore_latest(checkpoints.checkpoint_manager(str(tmp_path / 'ckpt')),
                                          fresh)
  assert step == 1
  chex.assert_trees_all_equal(jax.device_get(restored), saved)
  assert not np.array_equal(jax.device_get(state.params['Dense_0']['kernel']),
                            saved.params['Dense_0']['kernel'])


def test_schedule_caps_steps_but_keeps_one_epoch():
  assert epochs.schedule(121, 64, 150) == (150, 2)
  assert epochs.schedule(1000, 64, 150, max_steps=160) == (10, 16)
  assert epochs.schedule(1000, 64, 150, max_steps=5) == (1, 16)
