import dataclasses
import functools
import json
import os
import subprocess
import sys

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import acgan as acgan_config
from configs import dcgan as dcgan_config
from liverjax.base import checkpoints, errors
from liverjax.base import mesh as mesh_lib
from liverjax.base import workdir
from liverjax.datasets import phantom, splits
from liverjax.experiment import builders, gan_job, gan_trainer
from liverjax.models import conv_ops, gans, layers
from liverjax.steps import epochs, gan
from liverjax.tools import class_fidelity, sample
from liverjax.tools.turing import study


def _count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def test_dcgan_paper_shapes_and_parameter_counts():
  g, d = gans.DCGANGenerator(), gans.DCGANDiscriminator()
  z = jnp.zeros((2, 100))
  gv = jax.eval_shape(lambda: g.init(jax.random.key(0), z, None, train=False))
  dv = jax.eval_shape(lambda: d.init(jax.random.key(0), jnp.zeros((2, 64, 64, 1)), train=False))
  # G: dense 100 -> 4x4x1024 (+BN), transposed 5x5 1024->512->256->128->1 (+BN but the last);
  # no bias before BN
  g_expected = 100 * 16384 + 2 * 1024 + 25 * 1024 * 512 + 2 * 512 + 25 * 512 * 256 + 2 * 256 + (
      25 * 256 * 128) + 2 * 128 + (25 * 128 + 1)
  # D: strided 5x5 1->64->128->256->512 (BN but the first), dense 4x4x512 -> 1
  d_expected = (25 * 64 + 64) + 25 * 64 * 128 + 2 * 128 + 25 * 128 * 256 + 2 * 256 + (
      25 * 256 * 512) + 2 * 512 + (8192 + 1)
  assert _count(gv['params']) == g_expected == 18_848_641
  assert _count(dv['params']) == d_expected == 4_312_449
  out = jax.eval_shape(lambda v: g.apply(v, z, None, train=False), gv)
  assert out.shape == (2, 64, 64, 1)


def test_acgan_shapes():
  g = gans.DCGANGenerator(widths=(32, 16, 8, 8), kernel_size=4, num_classes=3)
  d = gans.ACGANDiscriminator(num_classes=3, widths=(8, 8, 8, 8, 8, 8))
  gv = g.init(jax.random.key(0), jnp.zeros((2, 100)), jnp.array([0, 2]), train=False)
  x = g.apply(gv, jnp.zeros((2, 100)), jnp.array([0, 2]), train=False)
  assert x.shape == (2, 64, 64, 1) and float(jnp.abs(x).max()) <= 1.0
  dv = d.init(jax.random.key(1), x, train=False)
  src, cls = d.apply(dv, x, train=False)
  assert src.shape == (2,) and cls.shape == (2, 3)
  # the class changes the generator's output
  a = g.apply(gv, jnp.ones((1, 100)) * 0.3, jnp.array([0]), train=False)
  b = g.apply(gv, jnp.ones((1, 100)) * 0.3, jnp.array([1]), train=False)
  assert not np.allclose(a, b)


@pytest.mark.parametrize('size,cin,features,kernel,stride', [
    (4, 8, 6, 5, 2), (7, 3, 4, 5, 2), (8, 2, 3, 3, 2), (5, 2, 3, 4, 2), (4, 3, 2, 5, 3),
    (8, 6, 1, 5, 2), (6, 5, 2, 4, 2)])  # features < cin: output-side form
@pytest.mark.parametrize('impl', layers.IMPLS)
def test_conv_transpose_equals_flax(size, cin, features, kernel, stride, impl):
  x = jax.random.normal(jax.random.key(size), (2, size, size, cin))
  stock = nn.ConvTranspose(features, (kernel, kernel), strides=(stride, stride), padding='SAME')
  ours = layers.ConvTranspose(features, kernel, stride, impl=impl)
  v = stock.init(jax.random.key(1), x)
  assert jax.tree.map(jnp.shape, v) == jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x))
  v = jax.tree.map(lambda a: jax.random.normal(jax.random.key(2), a.shape), v)
  np.testing.assert_allclose(ours.apply(v, x), stock.apply(v, x), rtol=1e-4, atol=1e-4)
  # gradients with respect to the weights and the input (the generator's backward pass needs both)
  g1 = jax.grad(lambda v, x: jnp.sum(jnp.sin(ours.apply(v, x))), argnums=(0, 1))(v, x)
  g2 = jax.grad(lambda v, x: jnp.sum(jnp.sin(stock.apply(v, x))), argnums=(0, 1))(v, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g1, g2)


def test_transpose_taps_use_every_tap_once():
  for k, s in [(5, 2), (3, 2), (4, 2), (5, 3)]:
    taps = sorted(t for phase in conv_ops.transpose_phase_taps(k, s) for t, _ in phase)
    assert taps == list(range(k))


def _small_setup(kind):
  cfg = (dcgan_config if kind == 'dcgan' else acgan_config).get_config('smoke')
  return builders.make_gan_setup(cfg.gan, 3)


@pytest.fixture(scope='module')
def batch():
  x = jax.random.uniform(jax.random.key(0), (16, 64, 64, 1))
  return {'image': x, 'label': jnp.arange(16) % 3}


@pytest.mark.parametrize('kind', ['dcgan', 'acgan'])
def test_gan_step_pure_and_compiled_once(kind, batch):
  setup = _small_setup(kind)
  state = gan.init_state(setup, jax.random.key(0))
  chex.clear_trace_counter()   # the counter is keyed by code, shared by the parametrised cases

  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, batch, key):
    return gan.train_step(state, batch, key, setup=setup)

  s1, m1 = step(state, batch, jax.random.key(1))
  s2, m2 = step(state, batch, jax.random.key(1))
  chex.assert_trees_all_equal((s1, m1), (s2, m2))
  s3, _ = step(s1, batch, jax.random.key(1))
  assert int(s3.step) == 2 and int(s3.g.step) == 2 and int(s3.d.step) == 2
  assert set(m1) >= {'d_loss', 'g_loss', 'd_real', 'd_fake'}


@pytest.mark.parametrize('kind', ['dcgan', 'acgan'])
def test_discriminator_steps_lower_its_loss_on_a_fixed_batch(kind, batch):
  """With the generator frozen (lr 0), a few D steps separate real from fake."""
  setup = _small_setup(kind)
  import dataclasses
  import optax
  setup = dataclasses.replace(setup, g_tx=optax.sgd(0.0), d_tx=gan.make_optimizer(1e-3))
  state = gan.init_state(setup, jax.random.key(0))
  step = jax.jit(functools.partial(gan.train_step, setup=setup))
  losses = []
  for _ in range(8):
    state, m = step(state, batch, jax.random.key(3))
    losses.append(float(m['d_loss']))
  assert losses[-1] < losses[0] - 0.1, losses


@pytest.mark.parametrize('kind', ['dcgan', 'acgan'])
def test_bfloat16_matmuls_step_close_to_float32(kind, batch):
  # config.gan.matmul_dtype: the same variables, the same step up to bfloat16 rounding of the
  # convolutions' matmul operands (conv_ops.matmul; tests/test_layers.py checks it exactly)
  cfg = (dcgan_config if kind == 'dcgan' else acgan_config).get_config('smoke').gan
  setups = {}
  for name in ('float32', 'bfloat16'):
    cfg.matmul_dtype = name
    setups[name] = builders.make_gan_setup(cfg, 3)
  assert setups['bfloat16'].generator.matmul_dtype == jnp.bfloat16
  assert setups['float32'].discriminator.matmul_dtype is None
  states = {n: gan.init_state(s, jax.random.key(0)) for n, s in setups.items()}
  chex.assert_trees_all_equal(states['float32'], states['bfloat16'])
  out = {n: jax.jit(functools.partial(gan.train_step, setup=s))(states[n], batch,
                                                                 jax.random.key(1))
         for n, s in setups.items()}
  for key in ('d_loss', 'g_loss'):
    f32, low = float(out['float32'][1][key]), float(out['bfloat16'][1][key])
    assert abs(low - f32) < 2e-2 * abs(f32), (key, f32, low)
    assert low != f32   # the bfloat16 path ran
  cfg.matmul_dtype = 'float16'
  with pytest.raises(errors.ConfigError, match='gan.matmul_dtype'):
    builders.make_gan_setup(cfg, 3)


def _sharded_epoch(setup, mesh):
  """Returns the jitted GAN epoch (batches of 8) with its batches sharded over mesh."""
  return jax.jit(functools.partial(epochs.train_epoch, step_fn=functools.partial(
      gan.train_step, setup=setup), batch_size=8, batch_sharding=mesh_lib.batch_sharded(mesh)))


def _flat(tree) -> np.ndarray:
  return np.concatenate([np.ravel(x) for x in jax.tree.leaves(jax.device_get(tree))])


def test_gan_four_devices_equal_one(batch):
  """One step on 1 and 4 devices: parameters, batch statistics and metrics agree to rounding
  (only the order of the cross-device sums differs). Whole epochs (2 steps) over 8 keys: most
  agree to rounding too, but a few batches are ill-conditioned. At initialisation G's fake batch
  is nearly constant, so some of D's batch-norm channels on it have a variance below BN's epsilon
  and amplify rounding; and Adam's first update is +-lr whatever the gradient's size, so entries
  whose gradient is zero up to rounding can move in opposite directions (4 partial sums instead
  of one flip their sign). From there the second step differs visibly (key 2: a quarter of G's
  entries by more than 1e-5, metrics by 1.8e-4 relative on an AVX2-only CPU). What holds on any
  CPU: every parameter within Adam's bound of 2 x steps x lr, and most keys within rounding (a
  sharding bug, e.g. a batch statistic over one device's shard, moves every key)."""
  setup = _small_setup('dcgan')
  state = gan.init_state(setup, jax.random.key(0))
  steps, epochs = [], []
  for n in (1, 4):
    mesh = mesh_lib.make_mesh(n)
    step = jax.jit(functools.partial(gan.train_step, setup=setup))
    s, m = step(jax.device_put(state, mesh_lib.replicated(mesh)),
                jax.device_put(jax.tree.map(lambda a: a[:8], batch), mesh_lib.batch_sharded(mesh)),
                jax.random.key(2))
    steps.append(jax.device_get((s.g.params, s.d.params, s.d.model_state, m)))
    fn, s0 = _sharded_epoch(setup, mesh), jax.device_put(state, mesh_lib.replicated(mesh))
    data = mesh_lib.put_replicated(jax.device_get(batch), mesh)
    ends = [fn(s0, data, jax.random.key(k)) for k in range(8)]
    epochs.append([(_flat((s.g.params, s.d.params)), _flat((s.d.model_state, m)))
                   for s, m in ends])
  # One step on this batch: every parameter, statistic and metric agrees to rounding.
  chex.assert_trees_all_close(steps[0], steps[1], rtol=1e-4, atol=1e-5)
  lr, n_steps = 2e-4, 2
  params = np.array([np.abs(a[0] - b[0]).max() for a, b in zip(*epochs)])
  stats = np.array([np.abs(a[1] - b[1]).max() for a, b in zip(*epochs)])
  assert params.max() <= 2 * n_steps * lr * (1 + 1e-3), params
  assert ((params < 1e-5) & (stats < 1e-5)).sum() >= 5, (params, stats)


def test_gan_four_devices_equal_one_with_sgd_for_most_batches(batch):
  """SGD (no Adam sign normalisation): over 16 epoch keys, the typical parameter difference
  between 4 devices and 1 is rounding (a sharding bug would move every key)."""
  import dataclasses
  import optax
  setup = dataclasses.replace(_small_setup('dcgan'), g_tx=optax.sgd(0.1), d_tx=optax.sgd(0.1))
  state = gan.init_state(setup, jax.random.key(0))
  runs = []
  for n in (1, 4):
    mesh = mesh_lib.make_mesh(n)
    fn = _sharded_epoch(setup, mesh)
    s0 = jax.device_put(state, mesh_lib.replicated(mesh))
    data = mesh_lib.put_replicated(jax.device_get(batch), mesh)
    ends = [fn(s0, data, jax.random.key(k))[0] for k in range(16)]
    runs.append([_flat((s.g.params, s.d.params, s.d.model_state)) for s in ends])
  diffs = np.array([np.abs(a - b).max() for a, b in zip(*runs)])
  assert np.median(diffs) < 1e-6, diffs
  assert (diffs < 1e-5).sum() >= 12, diffs


def test_checkpoint_round_trip_reproduces_samples(batch, tmp_path):
  setup = _small_setup('acgan')
  state = gan.init_state(setup, jax.random.key(0))
  state, _ = jax.jit(functools.partial(gan.train_step, setup=setup))(state, batch,
                                                                     jax.random.key(1))
  mngr = checkpoints.checkpoint_manager(str(tmp_path / 'c'))
  checkpoints.save_state(mngr, 1, state)
  _, restored = checkpoints.restore_latest(checkpoints.checkpoint_manager(str(tmp_path / 'c')),
                                       gan.init_state(setup, jax.random.key(5)))
  a = gan.sample(setup, state.g, jax.random.key(7), 10, label=2)
  b = gan.sample(setup, restored.g, jax.random.key(7), 10, label=2)
  np.testing.assert_array_equal(a, b)
  assert a.shape == (10, 64, 64, 1) and 0 <= float(a.min()) and float(a.max()) <= 1
  # the EMA generator (smoke configs keep one) with its standing statistics too
  assert setup.ema_decay > 0
  state = gan.refresh_ema(setup, state, jax.random.key(3))
  checkpoints.save_state(mngr, 2, state)
  _, restored = checkpoints.restore_latest(checkpoints.checkpoint_manager(str(tmp_path / 'c')),
                                       gan.init_state(setup, jax.random.key(5)))
  a = gan.sample(setup, gan.sampling_generator(state), jax.random.key(7), 10, label=2)
  b = gan.sample(setup, gan.sampling_generator(restored), jax.random.key(7), 10, label=2)
  np.testing.assert_array_equal(a, b)


def test_ema_generator_averages_weights_without_changing_training(batch):
  setup = _small_setup('dcgan')
  plain = dataclasses.replace(setup, ema_decay=0.0)
  assert gan.init_state(plain, jax.random.key(0)).g_ema is None
  step = jax.jit(functools.partial(gan.train_step, setup=setup))
  plain_step = jax.jit(functools.partial(gan.train_step, setup=plain))
  state, ref = gan.init_state(setup, jax.random.key(0)), gan.init_state(plain, jax.random.key(0))
  expected = state.g.params
  for t in range(4):
    state, _ = step(state, batch, jax.random.key(1))
    ref, _ = plain_step(ref, batch, jax.random.key(1))
    d = min(setup.ema_decay, (1 + t) / (10 + t))
    expected = jax.tree.map(lambda e, p: d * e + (1 - d) * p, expected, state.g.params)
  assert ref.g_ema is None
  chex.assert_trees_all_equal((state.g.params, state.d.params), (ref.g.params, ref.d.params))
  chex.assert_trees_all_close(state.g_ema.params, expected, rtol=1e-5, atol=1e-6)
  assert not np.allclose(_flat(state.g_ema.params), _flat(state.g.params))
  assert gan.sampling_generator(ref) is ref.g and gan.sampling_generator(state) is state.g_ema


@pytest.mark.parametrize('kind', ['dcgan', 'acgan'])
def test_standing_stats_are_the_batch_statistics_of_fresh_samples(kind, batch):
  setup = _small_setup(kind)
  state, _ = jax.jit(functools.partial(gan.train_step, setup=setup))(
      gan.init_state(setup, jax.random.key(0)), batch, jax.random.key(1))
  key, n = jax.random.key(4), 48
  g = gan.standing_stats(setup, state.g_ema, key, n=n)
  k_z, k_y = jax.random.split(key)   # the samples standing_stats draws
  z, y = gan.sample_z(k_z, n, setup.z_dim), jax.random.randint(k_y, (n,), 0, setup.num_classes)
  train_mode, _ = gan.generate(setup, g, z, y, True)      # normalised by this batch's statistics
  eval_mode, _ = gan.generate(setup, g, z, y, False)      # by the standing statistics
  np.testing.assert_allclose(eval_mode, train_mode, atol=2e-5)
  stale, _ = gan.generate(setup, state.g_ema, z, y, False)
  assert np.abs(np.asarray(stale) - np.asarray(train_mode)).max() > 1e-2


class _Progress:
  """A progress bar stand-in that counts the steps reported to it."""
  n = 0

  def update(self, n):
    self.n += n

  def set_postfix_str(self, s):
    pass


@pytest.mark.parametrize('kind', ['dcgan', 'acgan'])
def test_progress_total_is_the_steps_the_gans_take(kind, tmp_path):
  gcfg = (dcgan_config if kind == 'dcgan' else acgan_config).get_config('smoke').gan
  gcfg.augmented_per_class, gcfg.max_steps = 24, 3   # DCGAN 3 GANs x 2 steps, ACGAN 1 x 5
  trainer = gan_trainer.GANTrainer(builders.make_gan_setup(gcfg, 3), gcfg, mesh_lib.make_mesh(1),
                                   workdir.ScalarWriter(str(tmp_path)))
  real = {'image': jax.random.uniform(jax.random.key(0), (12, 64, 64, 1)),
          'label': jnp.arange(12) % 3, 'diameter_px': jnp.full((12,), 20.0)}
  progress = _Progress()
  gan_trainer.train_and_sample(trainer, real, ('a', 'b', 'c'), jax.random.key(1),
                               str(tmp_path / 'gan'), progress, 4)
  assert progress.n == trainer.total_steps(('a', 'b', 'c')) == (6 if kind == 'dcgan' else 5)


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path):
  cfg = dcgan_config.get_config('smoke')
  setup = builders.make_gan_setup(cfg.gan, 1)
  mesh = mesh_lib.make_mesh(1)
  trainer = gan_trainer.GANTrainer(setup, cfg.gan, mesh, workdir.ScalarWriter(str(tmp_path)))
  good = {'image': jnp.full((32, 64, 64, 1), 0.5), 'label': jnp.zeros(32, jnp.int32)}

  ckpt = str(tmp_path / 'ck')
  keys = gan_trainer.model_keys(jax.random.key(0), 0)
  trainer.fit('g', good, keys, ckpt, _Progress(), [0])   # 2 epochs, fine
  cfg.gan.epochs = 3
  trainer.gcfg = cfg.gan
  bad = dict(good, image=good['image'].at[0].set(jnp.nan))
  with pytest.raises(errors.GANDivergedError, match='NaN'):
    trainer.fit('g', bad, keys, ckpt, _Progress(), [0])
  assert checkpoints.checkpoint_manager(ckpt).latest_step() == 2


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(*args):
  env = dict(os.environ, XLA_FLAGS='', JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=600)


@pytest.mark.parametrize('kind,fold', [('dcgan', 1), ('acgan', -1), ('acgan_de', 0)])
def test_launch_gan_smoke_end_to_end(kind, fold, tmp_path):
  """A GAN job (DCGAN on fold 1's training ROIs, ACGAN on all; the data-efficient ACGAN with
  the resize-convolution generator option), its samples, and the sampling command with --out."""
  work = str(tmp_path / kind)
  extra = ['--config.gan.g_upsample=resize'] if kind.endswith('_de') else []
  proc = _command('launch.py', f'--config=configs/{kind}.py:smoke', f'--workdir={work}',
                  f'--config.gan.fold={fold}', *extra)
  assert proc.returncode == 0, proc.stderr[-3000:]
  classes = ('cyst', 'metastasis', 'hemangioma')
  for c in classes:
    assert os.path.exists(os.path.join(work, 'samples', f'{c}.png'))
    assert os.path.exists(os.path.join(work, 'samples', f'real_{c}.png'))
  with np.load(os.path.join(work, 'samples.npz')) as z:
    assert z['images'].shape == (48, 64, 64, 1)
    assert 0 <= z['images'].min() and z['images'].max() <= 1
    assert np.bincount(z['labels']).tolist() == [16, 16, 16]
    assert tuple(z['classes']) == classes
  summary = json.load(open(os.path.join(work, 'gan_summary.json')))
  names = [f'dcgan_{c}' for c in classes] if kind == 'dcgan' else ['acgan']
  assert json.load(open(os.path.join(work, 'config.json')))['gan']['r1_gamma'] == (
      1.0 if kind.endswith('_de') else 0.0)
  assert summary['models'] == names
  for name in names:
    assert os.listdir(os.path.join(work, 'gan', name, 'checkpoints'))
  config = dcgan_config.get_config('smoke')
  ds = phantom.load_phantom(config.data.phantom.counts)
  folds = splits.stratified_group_kfold(ds.labels, ds.groups, config.folds, config.split_seed)
  assert summary['n_train_real'] == (len(folds[fold][0]) if fold >= 0 else len(ds))
  # A reader study drawn from the job: the fold's test ROIs, or the data set it trained on.
  d = study.draw(work, 2, 3, ['cyst', 'hemangioma'], seed=1)
  assert d['images'].shape == (10, 64, 64) and d['synthetic'].tolist() == [0] * 4 + [1] * 6
  assert d['labels'].tolist() == [0, 0, 2, 2, 0, 0, 0, 2, 2, 2]
  real_rois = [int(o.split()[1]) for o in d['origins'][:4]]
  np.testing.assert_array_equal(d['images'][:4], ds.images[real_rois][..., 0])
  if fold >= 0:
    assert set(real_rois) <= set(folds[fold][1].tolist())
    assert d['meta']['real_source'] == f"fold {fold}'s test ROIs"
  else:
    assert 'held no ROIs out' in d['meta']['real_source']
  # The sampling command reproduces a generator from its checkpoint.
  images, labels, got_classes = sample.generate(work, 5)
  assert images.shape == (15, 64, 64, 1) and list(got_classes) == list(classes)
  if kind == 'acgan':   # (the data-efficient ACGAN samples through the same code)
    out = str(tmp_path / 'more')
    proc = _command('-m', 'liverjax.tools.sample', f'--workdir={work}', '--n=3', f'--out={out}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(out)) == sorted([f'{c}.png' for c in classes] + ['samples.npz'])
    with np.load(os.path.join(out, 'samples.npz')) as z:
      np.testing.assert_array_equal(z['images'], sample.generate(work, 3)[0])


def test_a_diverging_gan_job_stops_with_one_line_and_exit_2(tmp_path):
  proc = _command('launch.py', '--config=configs/dcgan.py:smoke', f'--workdir={tmp_path}',
                  '--config.gan.learning_rate=1e30', '--config.progress=False')
  assert proc.returncode == 2
  errors_ = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
  assert len(errors_) == 1 and 'dcgan_cyst: loss became NaN/inf in epoch 1' in errors_[0]
  assert 'Traceback' not in proc.stderr


def test_class_fidelity_counts_samples_assigned_to_their_class(tmp_path):
  """liverjax.tools.class_fidelity: the confusion of samples.npz under a given classifier, per intended class;
  and the reference classifier trains on an independent phantom and scores a fresh one."""
  classes = ('cyst', 'metastasis', 'hemangioma')
  labels = np.repeat(np.arange(3), 4).astype(np.int32)
  images = np.random.default_rng(0).random((12, 64, 64, 1)).astype(np.float32)
  gan_job.write_samples(str(tmp_path / 'samples.npz'), images, labels, classes)
  # A stand-in classifier: right for cysts, metastasis -> hemangioma, hemangioma half right.
  fake = lambda x: np.array([0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1])
  r = class_fidelity.class_fidelity(str(tmp_path), fake, [0.9, 0.8, 0.7], classes)
  assert r['synthetic_confusion'] == [[4, 0, 0], [0, 0, 4], [0, 2, 2]]
  assert [v['synthetic'] for v in r['per_class'].values()] == [1.0, 0.0, 0.5]
  assert r['per_class']['hemangioma']['real_reference'] == 0.7
  assert workdir.read_json(str(tmp_path / 'class_fidelity.json')) == r
  with pytest.raises(errors.ConfigError, match='classes'):
    class_fidelity.class_fidelity(str(tmp_path), fake, [0.9, 0.8, 0.7], ('a', 'b', 'c'))
  workdir.write_json(str(tmp_path / 'config.json'), {'job': 'experiment',
                                                     'data': {'source': 'phantom'}})
  with pytest.raises(errors.ConfigError, match='not a finished GAN job'):   # before any training
    class_fidelity.run([str(tmp_path)], per_class=4, augmented=64, epochs=1)
  phantom_cfg = {'counts': [53, 64, 65], 'seed': 0, 'noise_hu': 18.0, 'contrast': 1.0,
                 'overlap': 0.25}
  predict, reference, got = class_fidelity.reference_classifier(
      phantom_cfg, per_class=4, augmented=64, epochs=1, features=(4, 8, 8), dense=16)
  assert tuple(got) == classes and len(reference) == 3
  assert all(0.0 <= s <= 1.0 for s in reference)
  assert predict(images).shape == (12,) and set(predict(images).tolist()) <= {0, 1, 2}


def test_each_gan_key_is_derived_once_and_serves_one_purpose():
  """model_keys gives every purpose of every GAN its own key (a shared one would tie, say, the
  grid noise to the training noise), and the same keys on every call."""
  keys = [gan_trainer.model_keys(jax.random.key(3), i) for i in range(3)]
  data = [jax.random.key_data(getattr(k, f.name)).tobytes()
          for k in keys for f in dataclasses.fields(k)]
  assert len(set(data)) == len(data) == 3 * 6
  again = gan_trainer.model_keys(jax.random.key(3), 1)
  assert all((jax.random.key_data(getattr(again, f.name)) ==
              jax.random.key_data(getattr(keys[1], f.name))).all()
             for f in dataclasses.fields(again))
