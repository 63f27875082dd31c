"""The diffusion arm's model and steps (models/unet.py, steps/diffusion.py): EDM's
preconditioning, its sampler on denoisers whose answer is known in closed form, guidance, keys,
and the step on 1 and 4 devices."""

import dataclasses
import functools
import json
import math
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from liverjax.base import mesh as mesh_lib
from liverjax.models import unet
from liverjax.steps import diffusion as dm
from liverjax.tools import sample

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup(levels=(1, 2), **kw) -> dm.DiffusionSetup:
  """A U-Net of width 8 with attention at 8x8 and 32x32 (levels (1,): one level, no resampling,
  the fastest to compile)."""
  net = unet.UNet(num_classes=3, channels=8, channel_mult=levels, num_blocks=1,
                  attn_resolutions=(8, 32), dropout=0.1)
  return dm.DiffusionSetup(network=net, num_classes=3, **{'tx': optax.adam(1e-3), **kw})


def _init(setup, seed=0, size=64) -> dm.DiffusionState:
  return jax.jit(functools.partial(dm.init_state, setup, image_shape=(size, size, 1)))(
      jax.random.key(seed))


def _perturbed(params, seed, scale=0.05):
  """Returns params plus N(0, scale^2) noise (numpy's, to spare a compilation): an untrained
  U-Net's F is exactly 0 (zero output convolution), which would make every test of the
  network's part pass trivially."""
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda p: p + scale * rng.standard_normal(p.shape, np.float32), params)


@pytest.fixture(scope='module')
def model():
  """A one-level U-Net for 8x8 inputs (attention at 8x8), perturbed."""
  setup = _setup(levels=(1,))
  params = _perturbed(_init(setup, size=8).params, 1)
  x = jax.random.uniform(jax.random.key(2), (4, 8, 8, 1), minval=-1.0, maxval=1.0)
  return setup, params, x


def test_preconditioning_has_edms_values():
  sd = 0.5
  c_skip, c_out, c_in, c_noise = dm.preconditioning(jnp.float32(sd), sd)   # sigma = sigma_data
  np.testing.assert_allclose([c_skip, c_out, c_in, c_noise],
                             [0.5, sd / math.sqrt(2), 1 / (sd * math.sqrt(2)), math.log(sd) / 4],
                             rtol=1e-6)
  c_skip, c_out, c_in, c_noise = dm.preconditioning(jnp.float32(3.0), sd)
  np.testing.assert_allclose([c_skip, c_out, c_in, c_noise],
                             [0.25 / 9.25, 1.5 / math.sqrt(9.25), 1 / math.sqrt(9.25),
                              math.log(3.0) / 4], rtol=1e-6)
  # the loss weight makes the effective target's weight 1: lambda c_out^2 = 1 at every sigma
  sig = jnp.geomspace(0.002, 80.0, 9)
  np.testing.assert_allclose(dm.loss_weight(sig, sd) * dm.preconditioning(sig, sd)[1] ** 2, 1.0,
                             rtol=1e-5)


def test_denoiser_returns_its_input_as_sigma_goes_to_zero(model):
  setup, params, x = model
  labels = jnp.array([0, 1, 2, -1])
  f = setup.network.apply({'params': params}, x, jnp.zeros((4,)), labels)
  assert float(jnp.abs(f).max()) > 0.1          # the network's part is not zero
  for sigma in (1e-3, 1e-4):
    c_skip, c_out, _, _ = dm.preconditioning(jnp.float32(sigma))
    d = dm.denoise(setup, params, x, sigma, labels)
    # |D - x| <= (1 - c_skip)|x| + c_out |F|, F at a c_noise and input other than these but
    # bounded alike (GroupNorm after the first convolution): allow 4x its maximum
    bound = (1 - c_skip) * 1.0 + c_out * 4 * float(jnp.abs(f).max())
    assert float(jnp.abs(d - x).max()) <= bound, (sigma, bound)
  assert float(jnp.abs(dm.denoise(setup, params, x, 1.0, labels) - x).max()) > 0.1


def test_heun_sampler_returns_the_one_image_of_a_one_image_data_set():
  y0 = jax.random.uniform(jax.random.key(3), (1, 64, 64, 1), minval=-1.0, maxval=1.0)
  noise = jax.random.normal(jax.random.key(4), (5, 64, 64, 1))
  out = dm.heun_sample(lambda x, sigma: jnp.broadcast_to(y0, x.shape), noise, dm.sigma_steps(18))
  np.testing.assert_allclose(out, jnp.broadcast_to(y0, out.shape), atol=1e-5)


def test_heun_sampler_lands_on_a_training_image_of_a_two_image_data_set():
  """The optimal denoiser of a finite set is the posterior mean of its images; the ODE carries
  every noise to one of them (both reached over 16 keys: all alike has probability 2^-15)."""
  ys = jax.random.uniform(jax.random.key(5), (2, 64, 64, 1), minval=-1.0, maxval=1.0)

  def optimal(x, sigma):
    d2 = jnp.sum((x[:, None] - ys[None]) ** 2, axis=(2, 3, 4))
    w = jax.nn.softmax(-d2 / (2 * sigma ** 2), axis=1)
    return jnp.einsum('nk,khwc->nhwc', w, ys)

  out = dm.heun_sample(optimal, jax.random.normal(jax.random.key(6), (16, 64, 64, 1)),
                       dm.sigma_steps(18))
  dist = jnp.abs(out[:, None] - ys[None]).max(axis=(2, 3, 4))
  assert float(dist.min(axis=1).max()) < 1e-3, dist
  assert set(np.asarray(dist.argmin(axis=1)).tolist()) == {0, 1}


def test_heun_sampler_is_second_order_on_gaussian_data():
  """On data N(mu, s^2) per pixel the optimal denoiser is linear and the ODE's solution known:
  x(0) = mu + (x_T - mu) s / sqrt(s^2 + T^2). Heun's error falls about 4x per doubling of the
  steps (second order; Euler's 2x), and at 64 steps is under 1% of the data's range."""
  mu, s = 0.3, 0.2
  denoiser = lambda x, sigma: mu + s ** 2 / (s ** 2 + sigma ** 2) * (x - mu)   # noqa: E731
  z = jax.random.normal(jax.random.key(7), (16, 64, 64, 1))
  errors = []
  for n in (16, 32, 64):
    sig = dm.sigma_steps(n)
    exact = mu + z * sig[0] * s / jnp.sqrt(s ** 2 + sig[0] ** 2)
    errors.append(float(jnp.abs(dm.heun_sample(denoiser, z, sig) - exact).max()))
  assert errors[0] / errors[1] > 3 and errors[1] / errors[2] > 3, errors
  assert errors[2] < 0.01 * 2, errors


def test_guidance_zero_is_unconditional_one_conditional(model):
  setup, params, x = model
  labels = jnp.array([0, 1, 2, 1])
  sigma = jnp.float32(0.7)
  d_u = dm.denoise(setup, params, x, sigma, jnp.full((4,), -1))
  d_c = dm.denoise(setup, params, x, sigma, labels)
  assert float(jnp.abs(d_c - d_u).max()) > 1e-3      # the class changes the output
  np.testing.assert_array_equal(dm.guided_denoiser(setup, params, labels, 0.0)(x, sigma), d_u)
  np.testing.assert_array_equal(dm.guided_denoiser(setup, params, labels, 1.0)(x, sigma), d_c)
  # w = 3 runs both passes as one batch of 8: only the matmuls' blocking, hence the order of
  # float32 sums, can differ from two batches of 4 (relative rounding ~ sqrt(K) eps per layer,
  # K <= 9 x 32 terms, ~20 layers: ~2e-5); scaled by w + |1 - w| = 5 for the combination
  guided = dm.guided_denoiser(setup, params, labels, 3.0)(x, sigma)
  np.testing.assert_allclose(guided, d_u + 3.0 * (d_c - d_u), rtol=0,
                             atol=5 * 2e-5 * float(jnp.abs(d_c).max()))


def test_a_sample_is_a_function_of_its_key():
  setup = _setup(sampler_steps=3)
  params = _perturbed(_init(setup).params, 1)
  fn = jax.jit(functools.partial(dm.sample, setup), static_argnames=('n', 'label', 'batch_size'))
  a = fn(params, jax.random.key(8), n=3, label=1, batch_size=2)
  b = fn(params, jax.random.key(8), n=5, label=1, batch_size=2)
  np.testing.assert_array_equal(a, b[:3])            # image i depends on (key, i), not on n
  assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], a[2])   # own noise each
  c = fn(params, jax.random.key(9), n=3, label=1, batch_size=2)
  assert bool((a != c).any(axis=(1, 2, 3)).all())     # every image moves with the key
  d = fn(params, jax.random.key(8), n=3, label=2, batch_size=2)
  assert bool((a != d).any(axis=(1, 2, 3)).all())     # and with its class
  assert a.shape == (3, 64, 64, 1) and float(a.min()) >= 0 and float(a.max()) <= 1


def test_step_lowers_the_loss_and_moves_the_ema_towards_the_weights():
  setup = _setup(label_dropout=0.2)
  state = _init(setup, 10)
  batch = {'image': jax.random.uniform(jax.random.key(11), (8, 16, 16, 1)),
           'label': jnp.arange(8) % 3}
  step = jax.jit(functools.partial(dm.train_step, setup=setup))
  fixed = jax.jit(lambda p: dm.loss_fn(setup, p, batch['image'] * 2 - 1, batch['label'],
                                       jax.random.key(12)))
  before = float(fixed(state.params))
  for _ in range(10):
    previous = state
    state, metrics = step(state, batch, jax.random.key(13))
  assert float(fixed(state.params)) < before and np.isfinite(float(metrics['loss']))
  # EMA: decay min(0.999, (1 + t)/(10 + t)) at t = 9 is 10/19
  decay = 10 / 19
  chex.assert_trees_all_close(state.ema, jax.tree.map(lambda e, p: decay * e + (1 - decay) * p,
                                                      previous.ema, state.params), rtol=1e-5,
                              atol=1e-7)


def test_step_on_four_devices_equals_one():
  """One SGD step from perturbed weights, a batch of 8 sharded over 4 devices or on one: the
  draws are global under jit, so only the order of the batch's and pixels' float32 sums differs.
  Over at most 8 x 16 x 16 terms that moves a sum by about sqrt(2048) x 6e-8 = 2.7e-6 of its
  terms' size, which for a weight whose gradient cancels (a GroupNorm scale) is the whole
  gradient's size, not its own: each leaf's change is compared with the whole gradient's
  Euclidean norm; allowed 1e-5. A draw per shard or a statistic over one device's shard moves
  the gradient by far more."""
  setup = _setup(tx=optax.sgd(1.0))
  params = _perturbed(_init(setup).params, 1)
  state = _init(setup).replace(params=params)
  batch = {'image': jax.random.uniform(jax.random.key(14), (8, 16, 16, 1)),
           'label': jnp.arange(8) % 3}
  out = []
  for n in (1, 4):
    mesh = mesh_lib.make_mesh(n)
    step = jax.jit(functools.partial(dm.train_step, setup=setup))
    s, m = step(jax.device_put(state, mesh_lib.replicated(mesh)),
                jax.device_put(batch, mesh_lib.batch_sharded(mesh)), jax.random.key(15))
    out.append(jax.device_get((jax.tree.map(jnp.subtract, s.params, params), m)))
  (g1, m1), (g4, m4) = out
  np.testing.assert_allclose(m4['loss'], m1['loss'], rtol=1e-5)
  scale = np.sqrt(sum(float(np.sum(np.square(a))) for a in jax.tree.leaves(g1)))
  diffs = [float(np.linalg.norm(b - a)) / scale
           for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g4))]
  assert len(diffs) > 20 and max(diffs) < 1e-5, sorted(diffs)[-5:]


def test_the_quick_u_net_has_its_parameter_count():
  """An accidental change of the architecture changes the count (traced only, not compiled)."""
  net = unet.UNet(num_classes=3)
  shapes = jax.eval_shape(lambda k: net.init(k, jnp.zeros((1, 64, 64, 1)), jnp.zeros((1,)),
                                             jnp.zeros((1,), jnp.int32)), jax.random.key(0))
  assert sum(math.prod(a.shape) for a in jax.tree.leaves(shapes)) == 1_627_841


def test_the_diffusion_job_writes_what_the_gan_jobs_write(tmp_path):
  """configs/diffusion.py:smoke on fold 0's training ROIs: grids, samples.npz, a summary with
  the diversity check, checkpoints; tools/sample reads them back."""
  work = str(tmp_path / 'job')
  proc = subprocess.run([sys.executable, os.path.join(ROOT, 'launch.py'),
                         '--config=configs/diffusion.py:smoke', f'--workdir={work}',
                         '--config.gan.fold=0'], cwd=ROOT, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-3000:]
  classes = ('cyst', 'metastasis', 'hemangioma')
  for c in classes:
    assert os.path.exists(os.path.join(work, 'samples', f'{c}.png'))
  with np.load(os.path.join(work, 'samples.npz')) as z:
    assert z['images'].shape == (48, 64, 64, 1) and tuple(z['classes']) == classes
    assert 0 <= z['images'].min() and z['images'].max() <= 1
    assert np.bincount(z['labels']).tolist() == [16, 16, 16]
  summary = json.load(open(os.path.join(work, 'gan_summary.json')))
  assert summary['kind'] == 'diffusion' and summary['models'] == ['diffusion']
  assert set(summary['diversity']) == set(classes)
  assert os.listdir(os.path.join(work, 'gan', 'diffusion', 'checkpoints'))
  images, labels, got = sample.generate(work, 3)
  assert images.shape == (9, 64, 64, 1) and list(got) == list(classes)


def test_patches_fold_each_2x2_block_into_channels_and_back():
  x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
  s = np.asarray(unet.space_to_depth(jnp.asarray(x), 2))
  assert s.shape == (2, 2, 3, 12)
  np.testing.assert_array_equal(s[1, 1, 2], x[1, 2:4, 4:6].reshape(-1))   # (row, column, channel)
  np.testing.assert_array_equal(unet.depth_to_space(jnp.asarray(s), 2), x)
