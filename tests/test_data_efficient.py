"""The data-efficient GAN options: DiffAugment, ADA, R1, resize-convolution generator, the
discriminator's normalisation; each off in the paper's protocol."""

import dataclasses
import functools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import acgan, acgan_de, data_efficient_aug, dcgan, dcgan_de
from liverjax.base import errors
from liverjax.experiment import builders, classifier_job
from liverjax.models import gans, layers, upsample_ops
from liverjax.steps import gan, data_efficient
from liverjax import report

POLICY = data_efficient.POLICIES


@pytest.fixture(scope='module')
def images():
  return jax.random.uniform(jax.random.key(0), (8, 64, 64, 1), minval=-1.0, maxval=1.0)


def test_augment_with_probability_zero_or_no_policy_is_the_identity(images):
  key = jax.random.key(1)
  chex.assert_trees_all_equal(data_efficient.augment(images, key, POLICY, 0.0), images)
  chex.assert_trees_all_equal(data_efficient.augment(images, key, (), 1.0), images)


@pytest.mark.parametrize('name', POLICY)
def test_each_transform_changes_images_and_passes_gradients(name, images):
  key = jax.random.key(2)
  out = data_efficient.augment(images, key, (name,), 1.0)
  assert out.shape == images.shape
  changed = np.abs(np.asarray(out - images)).reshape(len(images), -1).max(1) > 0
  assert changed.mean() >= 0.5, changed          # zero shifts are drawn now and then
  # Differentiable in x: the gradient of a weighted sum is the transform's transpose applied to
  # the weights; for these piecewise-linear maps jax.test_util compares it with finite differences.
  w = jax.random.normal(jax.random.key(3), images.shape)
  f = lambda x: jnp.sum(data_efficient.augment(x, key, (name,), 1.0) * w)
  jax.test_util.check_grads(f, (images,), order=1, modes=['rev'], eps=1e-2)
  g = jax.grad(f)(images)
  assert np.all(np.isfinite(g)) and np.abs(np.asarray(g)).sum() > 0


def test_transforms_keep_what_they_promise(images):
  key = jax.random.key(4)
  shifted = np.asarray(data_efficient.augment(images, key, ('translation',), 1.0))
  x = np.asarray(images)
  limit = int(64 * data_efficient.TRANSLATION)
  for a, b in zip(x, shifted):   # an integer shift within the limit, borders repeated
    found = [(dy, dx) for dy in range(-limit, limit + 1) for dx in range(-limit, limit + 1)
             if np.array_equal(b[limit:-limit, limit:-limit],
                               a[limit - dy:64 - limit - dy, limit - dx:64 - limit - dx])]
    assert found
  cut = np.asarray(data_efficient.augment(images, key, ('cutout',), 1.0))
  zeroed = (cut == 0) & (x != 0)
  side = int(64 * data_efficient.CUTOUT)
  assert all(0 < z.sum() <= side * side for z in zeroed)
  assert np.array_equal(cut[~zeroed], x[~zeroed])
  bright = np.asarray(data_efficient.augment(images, key, ('intensity',), 1.0))
  # a change of level and window: an affine map of each image's pixels, slope in CONTRAST
  for a, b in zip(x.reshape(8, -1), bright.reshape(8, -1)):
    slope, offset = np.polyfit(a, b, 1)
    assert data_efficient.CONTRAST[0] - 1e-4 <= slope <= data_efficient.CONTRAST[1] + 1e-4
    np.testing.assert_allclose(b, slope * a + offset, atol=1e-5)


def test_ada_probability_rises_when_d_is_confident_on_reals_and_falls_otherwise():
  p = jnp.float32(0.5)
  confident = jnp.ones(64) * 3.0            # r = 1 > target
  unsure = jnp.array([1.0, -1.0] * 32)      # r = 0 < target
  assert float(data_efficient.ada_update(p, confident, 0.6, 6400)) == pytest.approx(0.51)
  assert float(data_efficient.ada_update(p, unsure, 0.6, 6400)) == pytest.approx(0.49)
  assert float(data_efficient.ada_update(jnp.float32(1.0), confident, 0.6, 10)) == 1.0
  assert float(data_efficient.ada_update(jnp.float32(0.0), unsure, 0.6, 10)) == 0.0


def _setup(module, **changes):
  setup = builders.make_gan_setup(module.get_config('smoke').gan, 3)
  return dataclasses.replace(setup, **changes)


@pytest.fixture(scope='module')
def batch():
  x = jax.random.uniform(jax.random.key(0), (16, 64, 64, 1))
  return {'image': x, 'label': jnp.arange(16) % 3}


def test_options_off_leave_the_papers_step_as_it_was(batch):
  """A state without aug_p and metrics without the options' entries; and the augmentation's keys
  stay apart from the paper's draws: a step whose augmentation is the identity (ADA at p = 0)
  gives the paper step's new weights exactly."""
  paper = _setup(dcgan)
  assert paper.augment == () and paper.ada_target == 0 and paper.r1_gamma == 0
  state = gan.init_state(paper, jax.random.key(0))
  assert state.aug_p is None
  s_paper, m_paper = jax.jit(functools.partial(gan.train_step, setup=paper))(
      state, batch, jax.random.key(1))
  assert set(m_paper) == {'d_loss', 'g_loss', 'd_real', 'd_fake'}
  ada = dataclasses.replace(paper, augment=POLICY, ada_target=0.6, ada_images=1e12)
  state = gan.init_state(ada, jax.random.key(0))
  assert float(state.aug_p) == 0.0
  s_ada, m_ada = jax.jit(functools.partial(gan.train_step, setup=ada))(
      state, batch, jax.random.key(1))
  chex.assert_trees_all_equal((s_ada.g, s_ada.d), (s_paper.g, s_paper.d))
  assert 'aug_p' in m_ada


# One paper step of each smoke GAN from fixed keys, as the code before the data-efficient options
# computed it. A changed draw (z, labels, dropout) moves these by 1e-3 or more; float32 rounding
# differences between x86 CPUs by about 1e-6, hence rtol 1e-4.
PAPER_STEP = {
    'dcgan': {'d_fake': 0.48653391, 'd_loss': 1.41153824, 'd_real': 0.47753280,
              'g_loss': 0.74868834},
    'acgan': {'d_class_acc': 0.5, 'd_fake': 0.49945888, 'd_loss': 3.45636845,
              'd_real': 0.55983990, 'g_loss': 1.80085361},
}


@pytest.mark.parametrize('module', [dcgan, acgan])
def test_papers_step_draws_what_it_drew_before_the_options(module, batch):
  setup = _setup(module)
  state = gan.init_state(setup, jax.random.key(0))
  _, metrics = jax.jit(functools.partial(gan.train_step, setup=setup))(
      state, batch, jax.random.key(1))
  got = {k: float(v) for k, v in metrics.items()}
  assert got == pytest.approx(PAPER_STEP[setup.kind], rel=1e-4)


def test_ada_raises_its_probability_on_a_discriminator_that_overfits(batch):
  """D alone trains (the generator's lr is 0) on 16 real images: it learns to call them real,
  r = E[sign D(x)] passes the target, and ADA raises p; at target 1 (unreachable) it only falls."""
  setup = _setup(dcgan_de, g_tx=optax.sgd(0.0), d_tx=gan.make_optimizer(2e-3), ada_target=0.6,
                 ada_images=16 * 20, r1_gamma=0.0)
  step = jax.jit(functools.partial(gan.train_step, setup=setup))
  state = gan.init_state(setup, jax.random.key(0))
  state = state.replace(aug_p=jnp.float32(0.5))
  ps = []
  for _ in range(12):
    state, m = step(state, batch, jax.random.key(5))
    ps.append(float(m['aug_p']))
  assert ps[-1] > 0.5 and ps[-1] >= max(ps[:4]), ps
  never = dataclasses.replace(setup, ada_target=0.999)
  state = gan.init_state(never, jax.random.key(0)).replace(aug_p=jnp.float32(0.5))
  state, m = jax.jit(functools.partial(gan.train_step, setup=never))(state, batch,
                                                                     jax.random.key(5))
  assert float(m['aug_p']) < 0.5


@pytest.mark.parametrize('module', [dcgan_de, acgan_de])
def test_r1_is_a_per_image_gradient_penalty_that_descends(module, batch):
  setup = _setup(module)
  assert setup.r1_gamma > 0
  state = gan.init_state(setup, jax.random.key(0))
  x = batch['image'][:4] * 2 - 1
  key = jax.random.key(6)
  d = state.d
  r1 = lambda params, x: gan.real_pass(setup, params, d.model_state, x, key)[1]
  # per image: the batch's penalty is the mean of the images' own (nothing mixes images;
  # dropout masks are per image, so the ACGAN's D is compared with dropout at 0)
  if module is acgan_de:
    setup = dataclasses.replace(setup, discriminator=setup.discriminator.clone(dropout=0.0))
    r1 = lambda params, x: gan.real_pass(setup, params, d.model_state, x, key)[1]
  whole = float(r1(d.params, x))
  alone = np.mean([float(r1(d.params, x[i:i + 1])) for i in range(4)])
  assert whole == pytest.approx(alone, rel=1e-4)
  # its gradient in the weights (through the input gradient) is finite and lowers it
  value, grads = jax.value_and_grad(r1)(d.params, x)
  assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
  params = jax.tree.map(lambda p, g: p - 1e-2 * g / (optax.global_norm(grads) + 1e-12),
                        d.params, grads)
  assert float(r1(params, x)) < float(value)


@pytest.mark.parametrize('module', [dcgan_de, acgan_de])
def test_r1_from_the_losss_forward_pass_equals_a_second_pass(module, batch):
  """real_pass takes R1's input gradient from the forward pass whose output D's loss uses; value
  and weight gradient equal the definition's: the logits' gradient from a second pass."""
  setup = _setup(module)
  d, key = gan.init_state(setup, jax.random.key(0)).d, jax.random.key(7)
  x = batch['image'][:4] * 2 - 1
  source = (lambda out: out[0]) if module is acgan_de else (lambda out: out)

  def logits(params, images):
    return source(setup.discriminator.apply({'params': params, **d.model_state}, images,
                                            train=True, mutable=['batch_stats'],
                                            rngs={'dropout': key})[0])

  def two_passes(params):
    grads = jax.grad(lambda images: logits(params, images).sum())(x)
    r1 = 0.5 * setup.r1_gamma * jnp.mean(jnp.sum(grads ** 2, (1, 2, 3)))
    return logits(params, x).sum() + r1

  def one_pass(params):
    (out, _), r1 = gan.real_pass(setup, params, d.model_state, x, key)
    return source(out).sum() + r1

  # the same float32 operations in another order: agreement to ~100 ulps of the largest entry
  for want, got in zip(*(jax.tree.leaves(jax.value_and_grad(f)(d.params))
                         for f in (two_passes, one_pass))):
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.max(np.abs(want))))


def test_r1_with_batch_norm_and_unknown_options_are_refused():
  for change, match in [({'r1_gamma': 1.0, 'd_norm': 'batch'}, 'batch norm'),
                        ({'augment': 'translation,rotate'}, 'unknown augmentation'),
                        ({'ada_target': 0.6, 'augment': ''}, 'empty'),
                        ({'ada_target': 1.5}, 'target'),
                        ({'g_upsample': 'pixelshuffle'}, 'g_upsample'),
                        ({'d_norm': 'group', 'r1_gamma': 0.0}, 'd_norm')]:
    g = dcgan_de.get_config('smoke').gan
    g.update(change)
    with pytest.raises(errors.ConfigError, match=match):
      builders.make_gan_setup(g, 3)


@pytest.mark.parametrize('size,cin,features,kernel', [(4, 8, 6, 5), (7, 3, 4, 5), (8, 2, 3, 3),
                                                      (5, 2, 3, 4), (6, 16, 1, 5)])
@pytest.mark.parametrize('impl', layers.IMPLS)
def test_upsample_conv_equals_upsampling_then_flax_conv(size, cin, features, kernel, impl):
  x = jax.random.normal(jax.random.key(size), (2, size, size, cin))
  up = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
  stock = nn.Conv(features, (kernel, kernel), padding='SAME')
  ours = layers.Conv(features, kernel, upsample=True, impl=impl)
  v = stock.init(jax.random.key(1), up)
  assert jax.tree.map(jnp.shape, v) == jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x))
  v = jax.tree.map(lambda a: jax.random.normal(jax.random.key(2), a.shape), v)
  # float32 sums of k*k*cin <= 400 products of N(0, 1) values: rounding well under 1e-4
  np.testing.assert_allclose(ours.apply(v, x), stock.apply(v, up), rtol=1e-4, atol=1e-4)
  g1 = jax.grad(lambda v, x: jnp.sum(jnp.sin(ours.apply(v, x))), argnums=(0, 1))(v, x)
  g2 = jax.grad(lambda v, x: jnp.sum(jnp.sin(stock.apply(
      v, jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)))), argnums=(0, 1))(v, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g1, g2)


def test_upsample_phase_taps_use_every_tap_once_per_phase():
  for k in (3, 4, 5):
    for phase in upsample_ops.upsample_phase_taps(k):
      assert sorted(t for _, taps in phase for t in taps) == list(range(k))


def test_resize_generator_has_the_transposed_ones_parameters_and_shapes():
  z = jnp.zeros((2, 100))
  shapes = {}
  for upsample in gans.UPSAMPLINGS:
    g = gans.DCGANGenerator(widths=(32, 16, 8, 4), upsample=upsample)
    v = g.init(jax.random.key(0), z, train=False)
    assert g.apply(v, z, train=False).shape == (2, 64, 64, 1)
    shapes[upsample] = sorted(x.shape for x in jax.tree.leaves(v['params']))
  assert shapes['resize'] == shapes['transposed']


@pytest.mark.parametrize('norm', gans.NORMS)
def test_discriminator_norms(norm):
  d = gans.DCGANDiscriminator(widths=(8, 8, 8, 8), norm=norm)
  x = jax.random.uniform(jax.random.key(0), (4, 64, 64, 1))
  v = d.init(jax.random.key(1), x, train=False)
  assert ('batch_stats' in v) == (norm == 'batch')
  out = d.apply(v, x, train=False)
  assert out.shape == (4,)
  if norm != 'batch':   # one image's logit does not depend on the others
    np.testing.assert_allclose(d.apply(v, x[:1], train=False), out[:1], rtol=1e-5, atol=1e-6)


def test_data_efficient_arm_beside_the_papers_gan_smoke(tmp_path):
  """The experiment trains both GANs per fold on the same folds and seeds, and compares the
  data-efficient arm with the paper's GAN, paired."""
  config = data_efficient_aug.get_config('smoke')
  config.progress = False
  assert config.arms == ('none', 'classic', 'dcgan', 'dcgan_de')
  assert config.dcgan.augment == '' and config.dcgan_de.augment
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  assert {'dcgan_de_vs_dcgan', 'dcgan_de_vs_classic', 'dcgan_vs_classic'} <= set(
      results['paired_accuracy'])
  assert results['paired_accuracy']['dcgan_de_vs_dcgan']['n'] == 3
  assert {f'dcgan_de_fold{k}' for k in range(3)} <= set(results['gan_diversity'])
  report.write(str(tmp_path))
  text = (tmp_path / 'report.md').read_text()
  assert '**dcgan_de** is' in text and '**dcgan**' in text
  assert 'figures/dcgan_de_fold0/cyst.png' in text
