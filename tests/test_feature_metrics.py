"""Feature-space metrics with known answers, and against the reference implementations."""

import jax
import numpy as np
import prdc as prdc_package
import pytest
import scipy.linalg

from liverjax.evaluation import feature_metrics as fm


def _reference_fd(x, y):
  """The Frechet distance in float64 with scipy's general matrix square root."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  covmean = scipy.linalg.sqrtm(sx @ sy).real
  return float(np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(sx + sy - 2 * covmean))


def test_pairwise_distances_in_blocks():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(37, 5)), rng.normal(size=(11, 5))
  want = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
  np.testing.assert_allclose(fm.pairwise_distances(x, y, block=8), want, rtol=1e-4, atol=1e-4)


def test_frechet_distance_closed_forms():
  rng = np.random.default_rng(1)
  cov = np.diag(np.linspace(0.5, 2.0, 8))
  x = rng.multivariate_normal(np.zeros(8), cov, size=3000).astype(np.float32)
  mu = np.linspace(-1, 1, 8).astype(np.float32)
  # the same sample shifted: identical covariances, so FD = |mu|^2 exactly
  assert float(fm.frechet_distance(x, x + mu)) == pytest.approx(float(mu @ mu), rel=1e-4)
  # the same sample scaled by 2: FD = tr(S + 4 S - 2 * 2 S) = tr(S)
  assert float(fm.frechet_distance(x, 2 * x)) == pytest.approx(np.trace(np.cov(x.T)), rel=1e-3)
  # two samples of one Gaussian: near 0 (its small-sample bias), as the float64 reference says
  y = rng.multivariate_normal(np.zeros(8), cov, size=3000).astype(np.float32)
  fd = float(fm.frechet_distance(x, y))
  assert fd == pytest.approx(_reference_fd(x, y), rel=1e-2, abs=1e-4) and fd < 0.05


def test_kid_is_unbiased_and_sees_a_shift():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(400, 16)).astype(np.float32)
  a, b = x[:7], x[7:12]
  d = x.shape[1]
  kern = lambda p, q: (p @ q.T / d + 1.0) ** 3
  kaa, kbb = kern(a, a), kern(b, b)
  want = ((kaa.sum() - np.trace(kaa)) / (7 * 6) + (kbb.sum() - np.trace(kbb)) / (5 * 4)
          - 2 * kern(a, b).mean())
  assert float(fm._mmd2_unbiased(a, b)) == pytest.approx(want, rel=1e-4)
  # unbiased: over 400 independent pairs of samples of one distribution, the mean is 0 within 4
  # standard errors (the biased V-statistic is positive by about 1/n of the kernel's spread)
  keys = jax.random.split(jax.random.key(1), 400)
  pairs = jax.vmap(lambda k: fm._mmd2_unbiased(*jax.random.normal(k, (2, 30, 16))))(keys)
  pairs = np.asarray(pairs)
  assert abs(pairs.mean()) < 4 * pairs.std() / np.sqrt(len(pairs)), (pairs.mean(), pairs.std())
  y = rng.normal(size=(400, 16)).astype(np.float32)
  same = fm.kernel_inception_distance(x, y, jax.random.key(0), subsets=50, subset_size=100)
  shifted = fm.kernel_inception_distance(x, y + 0.5, jax.random.key(0), subsets=50,
                                         subset_size=100)
  assert abs(same['mean']) < 2 * same['std'], same
  assert shifted['mean'] > 3 * shifted['std'] and shifted['mean'] > 10 * abs(same['mean'])
  again = fm.kernel_inception_distance(x, y, jax.random.key(0), subsets=50, subset_size=100)
  assert again == same   # deterministic for a key


def test_prdc_matches_the_prdc_package():
  rng = np.random.default_rng(3)
  real = rng.normal(size=(200, 16)).astype(np.float32)
  fake = (rng.normal(size=(150, 16)) * 1.3 + 0.3).astype(np.float32)
  ours = fm.prdc(real, fake, k=5)
  ref = prdc_package.compute_prdc(real, fake, nearest_k=5)
  for name in ('precision', 'recall', 'density', 'coverage'):
    assert ours[name] == pytest.approx(float(ref[name]), abs=1e-6), name
  assert 0.0 < ours['precision'] < 1.0 and 0.0 < ours['coverage'] < 1.0
  same = fm.prdc(real, real, k=5)
  assert same['precision'] == same['recall'] == same['coverage'] == 1.0
