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


def test_the_ratio_rule_flags_copies_and_not_new_lesions():
  """A query far nearer one training ROI than any other is a copy (ratio of the two nearest
  distances under 1/3); transformed copies of training ROIs all are; new lesions from new
  patients rarely are, as rarely as the test ROIs; the test says which rate is higher."""
  d = np.array([[0.1, 0.5, 0.9], [0.3, 0.6, 0.9], [0.2, 0.2, 0.9]])
  assert memorisation.nn_ratio_copies(d).tolist() == [True, False, False]
  ds = phantom.load_phantom((30, 30, 30))
  train_idx, test_idx = splits.stratified_group_kfold(ds.labels, ds.groups, 2)[0]
  train, test = ds.images[train_idx], ds.images[test_idx]
  copies = np.roll(train[:, ::-1], 2, axis=2)   # flipped, moved 2 px
  fresh = phantom.load_phantom((15, 15, 15), seed=7).images
  rate = {name: memorisation.nn_ratio_copies(memorisation.distance_matrix(
      jnp.asarray(x), jnp.asarray(train)))
      for name, x in (('copies', copies), ('test', test), ('fresh', fresh))}
  assert rate['copies'].all()
  # (0 of 45 for each of three phantom seeds; 0.1 allows a few ROIs of a rare form)
  assert rate['test'].mean() < 0.1 and rate['fresh'].mean() < 0.1, {k: v.mean()
                                                                     for k, v in rate.items()}
  assert memorisation.copy_rate_test(rate['copies'], rate['test'])['p_greater'] < 1e-6
  assert memorisation.copy_rate_test(rate['fresh'], rate['test'])['p_greater'] > 0.05


def test_the_copy_rate_test_is_fishers_exact_one_sided():
  """5 of 10 synthetic copies against 0 of 10 real: P = C(10,5) C(10,0) / C(20,5) = 252/15504."""
  t = memorisation.copy_rate_test(np.arange(10) < 5, np.zeros(10, bool))
  assert t['synthetic'] == 0.5 and t['real'] == 0.0 and t['copies'] == [5, 0]
  np.testing.assert_allclose(t['p_greater'], 252 / 15504, rtol=1e-9)
  same = memorisation.copy_rate_test(None, None, counts=((0, 3), (10, 10)))
  assert same['p_greater'] == 1.0
