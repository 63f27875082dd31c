"""Memorisation: copies of training ROIs, flipped, turned and shifted, are found; new lesions
are as far from the training ROIs as the test ROIs are."""

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.datasets import phantom, splits
from liverjax.evaluation import memorisation


def test_dihedral_variants_are_the_eight_symmetries():
  x = np.arange(16.0).reshape(4, 4)
  v = np.asarray(memorisation.dihedral(jnp.asarray(x)))
  want = [np.rot90(x, k) for k in range(4)] + [np.rot90(x, k)[:, ::-1] for k in range(4)]
  as_bytes = lambda arrays: {np.ascontiguousarray(a, np.float32).tobytes() for a in arrays}
  assert len(as_bytes(v)) == 8 and as_bytes(v) == as_bytes(want)


def test_a_generator_that_returns_transformed_training_rois_is_flagged():
  ds = phantom.load_phantom((60, 60, 60))
  train_idx, test_idx = splits.stratified_group_kfold(ds.labels, ds.groups, 2)[0]
  train, test = ds.images[train_idx], ds.images[test_idx]   # no patient in both; 90 each
  rng = np.random.default_rng(0)
  copies = []
  for i in range(len(train)):   # each training ROI flipped or turned, then moved by up to 3 px
    img = np.rot90(train[i, ..., 0], rng.integers(4))   # NumPy's, not the code under test
    img = img[:, ::-1] if rng.integers(2) else img
    dy, dx = rng.integers(-3, 4, 2)
    copies.append(np.roll(img, (dy, dx), (0, 1))[..., None])
  out = memorisation.memorisation(np.stack(copies), test, train)
  assert out['share_below_p5'] == 1.0
  assert max(out['synthetic_distance']) < 1e-3
  assert out['nearest_train'] == list(range(len(train)))
  # new lesions from new patients: near the 5% that the test ROIs themselves have (measured 1.7-
  # 4.2% for three phantom seeds; the bound allows for a 5th percentile estimated from 90 values)
  fresh = phantom.load_phantom((30, 30, 30), seed=7).images
  new = memorisation.memorisation(fresh, test, train)
  assert new['share_below_p5'] < 0.15 and min(new['synthetic_distance']) > 0.01


def test_shift_and_flip_search_matches_brute_force():
  rng = np.random.default_rng(1)
  train = rng.uniform(size=(3, 16, 16, 1)).astype(np.float32)
  queries = rng.uniform(size=(4, 16, 16, 1)).astype(np.float32)
  d, idx = memorisation.nearest_distances(queries, train, max_shift=2)
  best = np.full(4, np.inf)
  for t in range(3):
    for v in np.asarray(memorisation.dihedral(jnp.asarray(train[t, ..., 0]))):
      for dy in range(-2, 3):
        for dx in range(-2, 3):
          window = v[2 + dy:14 + dy, 2 + dx:14 + dx]
          err = np.sqrt(((queries[:, 2:14, 2:14, 0] - window) ** 2).mean((1, 2)))
          best = np.minimum(best, err)
  np.testing.assert_allclose(np.asarray(d), best, rtol=1e-4, atol=1e-5)
  assert jax.device_get(idx).shape == (4,)
