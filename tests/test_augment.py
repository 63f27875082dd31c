import jax
import jax.numpy as jnp
import numpy as np
import pytest

from liverjax import augment
from liverjax.base import mesh as mesh_lib
from liverjax.datasets import phantom


@pytest.fixture(scope='module')
def images():
  return jnp.asarray(phantom.load_phantom(counts=(3, 3, 2)).images)


def test_identity_transform_is_exact(images):
  out = augment.warp(images[0], 0.0, False, False, jnp.zeros(2), 1.0)
  np.testing.assert_array_equal(out, images[0])


def test_flip_twice_is_identity_and_flip_matches_numpy(images):
  x = images[1]
  ud = augment.warp(x, 0.0, True, False, jnp.zeros(2), 1.0)
  np.testing.assert_array_equal(ud, x[::-1])
  np.testing.assert_array_equal(augment.warp(ud, 0.0, True, False, jnp.zeros(2), 1.0), x)
  np.testing.assert_array_equal(augment.warp(x, 0.0, False, True, jnp.zeros(2), 1.0), x[:, ::-1])


def test_rotation_by_90_matches_rot90(images):
  x = images[2]
  out = augment.warp(x, 90.0, False, False, jnp.zeros(2), 1.0)
  # counter-clockwise in (row, col) = (y, x) display coordinates with y down is np.rot90(k=-1)
  candidates = [np.rot90(np.asarray(x), k, axes=(0, 1)) for k in (1, -1)]
  errs = [np.abs(np.asarray(out) - c).max() for c in candidates]
  assert min(errs) < 1e-4, errs


def test_integer_shift_moves_content(images):
  x = images[3]
  out = augment.warp(x, 0.0, False, False, jnp.array([3.0, -2.0]), 1.0)
  np.testing.assert_allclose(out[3:, :-2], x[:-3, 2:], atol=1e-6)


def test_random_variant_transforms_each_image_its_own_way(images):
  """Every image gets its own random rotation/flip/shift/zoom: the output is not the input, eight
  copies of one ROI come out eight different ways, and the content stays (a rigid map with a mild
  zoom and reflected borders keeps the image's mean and its histogram's spread)."""
  key = jax.random.key(0)
  diam = jnp.full((images.shape[0],), 40.0)
  out = augment.random_variant(key, images, diam)
  assert out.shape == images.shape
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
  moved = np.abs(np.asarray(out - images)).mean((1, 2, 3))
  assert (moved > 1e-3).all(), moved
  np.testing.assert_allclose(np.asarray(out).mean((1, 2, 3)), np.asarray(images).mean((1, 2, 3)),
                             atol=0.03)
  copies = jnp.repeat(images[3:4], 8, 0)
  variants = np.asarray(augment.random_variant(key, copies, jnp.full((8,), 40.0)))
  pairwise = np.abs(variants[:, None] - variants[None]).mean((2, 3, 4))
  assert (pairwise[np.triu_indices(8, 1)] > 1e-3).all()
  np.testing.assert_array_equal(out, augment.random_variant(key, images, diam))   # seeded
  assert not np.array_equal(out, augment.random_variant(jax.random.key(1), images, diam))


def test_max_shift():
  np.testing.assert_allclose(augment.max_shift(jnp.array([10.0, 40.0, 100.0])), [1.0, 4.0, 4.0])


def test_paper_variants_structure(images):
  """The 16 variants of one rotation share its angle: variant 16r+3 (both flips) is the
  180-degree turn of variant 16r, and variants are deterministic per ROI key."""
  key = jax.random.key(3)
  d = jnp.float32(40.0)
  for r in (0, 7, 29):
    base = augment.paper_variant(key, images[0], d, jnp.int32(16 * r))
    both = augment.paper_variant(key, images[0], d, jnp.int32(16 * r + 3))
    np.testing.assert_allclose(both, np.asarray(base)[::-1, ::-1], atol=1e-4)
  a = augment.paper_variant(key, images[0], d, jnp.int32(100))
  b = augment.paper_variant(key, images[0], d, jnp.int32(100))
  np.testing.assert_array_equal(a, b)
  assert augment.VARIANTS_PER_ROI == 480


def test_classic_augment_shares_and_labels():
  """Constant images (value = ROI id) survive any warp, so each output names its ROI."""
  n, size = 7, 40
  values = (jnp.arange(n, dtype=jnp.float32) + 1) / 10
  imgs = jnp.broadcast_to(values[:, None, None, None], (n, 16, 16, 1))
  labels = jnp.arange(n) % 3
  out, out_labels = jax.jit(augment.classic_augment, static_argnums=4)(
      jax.random.key(0), imgs, labels, jnp.full((n,), 30.0), size)
  assert out.shape == (size, 16, 16, 1)
  roi = np.rint(np.asarray(out[:, 8, 8, 0]) * 10).astype(int) - 1
  np.testing.assert_allclose(out, np.broadcast_to(np.asarray(values)[roi][:, None, None, None],
                                                 out.shape), atol=1e-6)
  np.testing.assert_array_equal(out_labels, np.asarray(labels)[roi])
  share = np.bincount(roi, minlength=n)
  assert share.min() >= size // n and share.max() <= size // n + 1


def test_classic_augment_of_padded_rois_uses_only_the_first_n():
  """ROIs padded to 8 rows (values 1..5 real, 9 padding) with n = 5 traced: no output from the
  padding, every ROI its equal share."""
  values = jnp.array([1, 2, 3, 4, 5, 9, 9, 9], jnp.float32) / 10
  imgs = jnp.broadcast_to(values[:, None, None, None], (8, 16, 16, 1))
  fn = jax.jit(augment.classic_augment, static_argnums=4)
  out, _ = fn(jax.random.key(0), imgs, jnp.zeros(8, jnp.int32), jnp.full((8,), 30.0), 23,
              n=jnp.int32(5))
  roi = np.rint(np.asarray(out[:, 8, 8, 0]) * 10).astype(int) - 1
  share = np.bincount(roi, minlength=9)
  assert share[5:].sum() == 0 and share[:5].min() == 4 and share[:5].max() == 5


def test_classic_augment_variants_distinct_per_roi(images):
  """A ROI asked for several variants gets distinct ones (no repeats before 480)."""
  one = images[:1]
  out, _ = augment.classic_augment(jax.random.key(1), one, jnp.zeros(1, jnp.int32),
                                   jnp.full((1,), 40.0), 20)
  flat = np.asarray(out).reshape(20, -1)
  dists = np.abs(flat[:, None] - flat[None]).sum(-1) + np.eye(20) * 1e9
  assert dists.min() > 1e-3


def test_mix_synthetic_exact_counts_labels_follow_images_and_pure():
  real = jnp.zeros((10, 8, 8, 1))
  real_labels = jnp.arange(10) % 3
  # generated image value encodes (class, index): labels can be checked against the pixels
  gen_labels = jnp.repeat(jnp.arange(3), 20)
  gen = (gen_labels[:, None, None, None] + 1.0) * jnp.ones((60, 8, 8, 1))
  gen = gen + jnp.arange(60)[:, None, None, None] * 1e-3
  mix = jax.jit(augment.mix_synthetic, static_argnums=5)
  images, labels = mix(jax.random.key(0), real, real_labels, gen, gen_labels, (5, 0, 7))
  again = mix(jax.random.key(0), real, real_labels, gen, gen_labels, (5, 0, 7))
  chex_equal = np.array_equal(images, again[0]) and np.array_equal(labels, again[1])
  assert chex_equal
  assert images.shape == (22, 8, 8, 1)
  synth = np.asarray(images[:, 0, 0, 0]) > 0.5
  assert synth.sum() == 12
  synth_class = np.floor(np.asarray(images[synth, 0, 0, 0])).astype(int) - 1
  np.testing.assert_array_equal(synth_class, np.asarray(labels)[synth])
  assert np.bincount(synth_class, minlength=3).tolist() == [5, 0, 7]
  assert len(np.unique(np.asarray(images[synth, 0, 0, 0]))) == 12        # without replacement
  assert np.bincount(np.asarray(labels)[~synth], minlength=3).tolist() == [4, 3, 3]
  with pytest.raises(ValueError, match='too small'):
    augment.check_pool(gen_labels, (5, 30, 0))


def test_mix_synthetic_sharded_equals_unsharded():
  mesh = mesh_lib.make_mesh(4)
  real = jax.random.uniform(jax.random.key(0), (12, 8, 8, 1))
  real_labels = jnp.arange(12) % 3
  gen = jax.random.uniform(jax.random.key(1), (24, 8, 8, 1))
  gen_labels = jnp.arange(24) % 3
  mix = jax.jit(augment.mix_synthetic, static_argnums=5)
  ref = mix(jax.random.key(2), real, real_labels, gen, gen_labels, (2, 3, 3))
  args = jax.device_put((real, real_labels, gen, gen_labels), mesh_lib.batch_sharded(mesh))
  out = mix(jax.random.key(2), *args, (2, 3, 3))
  np.testing.assert_array_equal(out[0], ref[0])
  np.testing.assert_array_equal(out[1], ref[1])
