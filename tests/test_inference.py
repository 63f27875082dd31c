"""Inference over units (liverjax.evaluation.inference): formulas against scipy, and known answers
by simulation with a cheap real learner (a nearest-centroid classifier trained on Gaussian
classes), never against the code's own output.

Simulation tolerances are derived, not fitted: a coverage or power estimated from M simulated
experiments has standard error sqrt(p (1 - p) / M); a check allows 3 of them.
"""

import numpy as np
import pytest
import scipy.stats

from liverjax.datasets import splits
from liverjax.evaluation import inference

M = 2000                    # simulated experiments per check
SE3 = 3 * np.sqrt(0.95 * 0.05 / M)


def test_replicates_paired_matches_scipy_and_exact_sign_flips():
  a = [0.80, 0.75, 0.90, 0.70, 0.85, 0.78]
  b = [0.70, 0.72, 0.80, 0.71, 0.75, 0.70]
  out = inference.paired(a, b, inference.Design.replicates(6))
  assert out['n'] == 6 and out['mean_diff'] == pytest.approx(np.mean(np.subtract(a, b)))
  assert out['p_ttest'] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue)
  d = np.subtract(a, b)
  lo, hi = scipy.stats.t.interval(0.95, 5, loc=d.mean(), scale=scipy.stats.sem(d))
  np.testing.assert_allclose(out['ci95'], [lo, hi])
  flips = [np.abs(np.mean(d * s)) >= np.abs(d.mean()) - 1e-12 for s in
           (np.array([1 - 2 * ((i >> j) & 1) for j in range(6)]) for i in range(64))]
  assert out['p_permutation'] == pytest.approx(np.mean(flips))
  same = inference.paired(a, a, inference.Design.replicates(6))
  assert same['mean_diff'] == 0 and same['p_permutation'] == 1.0 and same['p_ttest'] == 1.0


def test_cv_uses_the_corrected_variance_and_no_sign_flips():
  a, b = [0.70, 0.62, 0.81], [0.66, 0.60, 0.70]
  d = np.subtract(a, b)
  out = inference.paired(a, b, inference.Design.cv(3, 1, 0.5))
  se = d.std(ddof=1) * np.sqrt(1 / 3 + 0.5)     # Nadeau and Bengio: s^2 (1/n + n_test/n_train)
  t = scipy.stats.t.ppf(0.975, 2)
  np.testing.assert_allclose(out['ci95'], [d.mean() - t * se, d.mean() + t * se])
  assert out['p_ttest'] == pytest.approx(2 * scipy.stats.t.sf(d.mean() / se, 2))
  assert 'p_permutation' not in out
  assert inference.Design.cv(3, 4, 0.5).c == pytest.approx(1 + 12 * 0.5)
  one = inference.paired([0.7], [0.6], inference.Design.cv(3, 1, 0.5))
  assert one['ci95'] == [pytest.approx(0.1)] * 2 and one['mde'] is None and one['why']


def test_mde_formula_and_units_needed():
  s = 0.05
  rep = inference.Design.replicates(10)
  expected = (scipy.stats.t.ppf(0.975, 9) + scipy.stats.t.ppf(0.8, 9)) * s / np.sqrt(10)
  assert inference.mde(s, rep) == pytest.approx(expected)
  cv = inference.Design.cv(3, 1, 0.5)
  assert inference.mde(s, cv) == pytest.approx(
      (scipy.stats.t.ppf(0.975, 2) + scipy.stats.t.ppf(0.8, 2)) * s * np.sqrt(2.5 / 3))
  n = inference.units_needed(0.05, s, rep)
  assert inference.mde(s, rep.with_units(n)) <= 0.05 < inference.mde(s, rep.with_units(n - 1))
  # cv: repeats shrink only 1/(kR); the floor (z_.975 + z_.80) s sqrt(ratio) is never passed
  floor = (scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)) * s * np.sqrt(0.5)
  assert inference.units_needed(0.95 * floor, s, cv) is None
  n_cv = inference.units_needed(1.2 * floor, s, cv)
  assert n_cv is not None and n_cv % 3 == 0


def test_sd_upper_limit_covers_the_true_sd_80_percent_of_the_time():
  rng = np.random.default_rng(0)
  n, sigma = 3, 0.05
  s = rng.normal(0, sigma, (M, n)).std(1, ddof=1)
  cover = np.mean([inference.sd_upper(x, n) >= sigma for x in s])
  assert abs(cover - 0.8) < 3 * np.sqrt(0.8 * 0.2 / M)


def test_fieller_interval_covers_the_true_ratio_and_is_unbounded_without_a_denominator():
  rng = np.random.default_rng(1)
  n, ratio = 10, 0.5
  den = rng.normal(0.08, 0.04, (M, n))
  num = ratio * den + rng.normal(0, 0.03, (M, n))   # correlated, as shares of one oracle gain
  design = inference.Design.replicates(n)
  hits, bounded = 0, 0
  for g, o in zip(num, den):
    out = inference.fieller(g, o, design)
    if out['bounded']:
      bounded += 1
      hits += out['ci95'][0] <= ratio <= out['ci95'][1]
  # Fieller's interval is exact when bounded; the rare unbounded ones also hold the ratio
  assert abs((hits + (M - bounded)) / M - 0.95) < SE3
  flat = inference.fieller([0.02, 0.01, 0.03], [0.05, -0.04, 0.01], inference.Design.replicates(3))
  assert flat['ratio'] is None and not flat['bounded'] and flat['why']


def test_shared_test_variance_sees_the_cohorts_error_not_the_units_noise():
  """ROI i's expected difference mu_i is +1 or -1 (a known variance var(mu) = 1 - mean^2 of
  them); each unit adds its own noise per ROI. The estimate is var(mu) / N, whatever the noise."""
  rng = np.random.default_rng(4)
  rois, units = 4000, 6
  mu = rng.choice([0.0, 1.0], rois, p=[0.7, 0.3])     # P(a right, b wrong) per ROI, 0 or 1
  target = mu.var(ddof=1) / rois
  for noise in (0.0, 0.3):                             # units flip a's answer with prob. noise
    a = np.where(rng.uniform(size=(units, rois)) < noise, 1 - mu, mu)
    est = inference.shared_test_variance(a, np.zeros_like(a))
    # the ROIs' spread grows with the noise, the estimate must not (3 SE of it: ~5% at noise 0.3)
    assert abs(est - target * (1 - 2 * noise) ** 2) < 0.15 * target, (noise, est, target)


def _nearest_centroid_correct(x_train, y_train, x_test, y_test):
  """Which test ROIs nearest-centroid classifiers get right; leading axes: independent
  experiments (and replicates)."""
  w0, w1 = (y_train == 0) / np.sum(y_train == 0), (y_train == 1) / np.sum(y_train == 1)
  m0, m1 = (np.einsum('n,...nf->...f', w, x_train) for w in (w0, w1))
  w = m1 - m0
  b = -np.sum((m0 + m1) * w, -1) / 2
  pred = np.einsum('...nf,...f->...n', x_test, w) + b[..., None] > 0
  return pred == (y_test == 1)


def _draw(rng, shape, y, deltas, noise=0):
  """Features of two Gaussian classes, 2 + noise per arm: class means +-delta/2 apart along the
  diagonal of the arm's first two (Bayes accuracy Phi(delta / 2)), the others pure noise."""
  sign = (2 * y - 1)[..., None]
  shift = np.concatenate([[d / 2 / np.sqrt(2)] * 2 + [0.0] * noise for d in deltas])
  return rng.normal(size=shape + (len(y), len(shift))) + sign * shift


def _covers(outs, value=0.0):
  return np.mean([o['ci95'][0] <= value <= o['ci95'][1] for o in outs])


def test_corrected_cv_interval_covers_a_null_difference_and_the_plain_t_does_not():
  """Two arms of equal true accuracy (by symmetry: each sees its own two features, with the same
  class separation), 3-fold CV repeated 10 times on 120 ROIs, every split training both arms."""
  rng = np.random.default_rng(2)
  y = np.repeat([0, 1], 60)
  folds = splits.experiment_folds(y, np.arange(len(y)), {}, 3, 0, repeats=10)
  x = _draw(rng, (M,), y, [1.0, 1.0])
  d = np.stack([np.mean(_nearest_centroid_correct(x[:, tr, :2], y[tr], x[:, te, :2], y[te]), -1)
                - np.mean(_nearest_centroid_correct(x[:, tr, 2:], y[tr], x[:, te, 2:], y[te]), -1)
                for tr, te in folds], 1)
  ratio = np.mean([len(te) / len(tr) for tr, te in folds])
  cv, plain = inference.Design.cv(3, 10, ratio), inference.Design.replicates(30)
  corrected = _covers([inference.paired(e, 0 * e, cv) for e in d])
  assert abs(corrected - 0.95) <= 0.02, corrected
  assert _covers([inference.paired(e, 0 * e, plain) for e in d]) < corrected - SE3


def test_replicates_paired_t_covers_and_has_the_power_the_mde_formula_gives():
  """Independent replicates: each trains both arms on its own cohort of 40 ROIs and tests on one
  cohort of 10,000 drawn once per experiment; arm a sees separation 1.6, arm b 1.16 (Bayes
  accuracies 78.8% and 71.8%), each with 20 noise features (trained on 40 ROIs: about +8 points
  apart, near-normal differences). The shared cohort's sampling error enters the interval
  (shared_test_variance). The true difference, the replicates' SD and the shared variance come
  from a separate, larger simulation."""
  rng = np.random.default_rng(3)
  y_train, y_test = np.repeat([0, 1], 20), np.repeat([0, 1], 5000)
  f = 22

  def experiments(n_exp, n_rep, chunk=50):
    for _ in range(0, n_exp, chunk):
      x_test = _draw(rng, (chunk, 1), y_test, [1.6, 1.16], 20)
      x_train = _draw(rng, (chunk, n_rep), y_train, [1.6, 1.16], 20)
      ca = _nearest_centroid_correct(x_train[..., :f], y_train, x_test[..., :f], y_test)
      cb = _nearest_centroid_correct(x_train[..., f:], y_train, x_test[..., f:], y_test)
      for a, b in zip(ca, cb):
        yield a.mean(-1) - b.mean(-1), inference.shared_test_variance(a, b)

  truth = list(experiments(100, 50))
  delta = np.mean([d.mean() for d, _ in truth])
  sigma = np.sqrt(np.mean([d.var(ddof=1) for d, _ in truth]))
  shared = np.mean([v for _, v in truth])
  assert 0.05 < delta < 0.10
  n = 4
  design = inference.Design.replicates(n)
  outs = [inference.paired(d, 0 * d, design, v) for d, v in experiments(M, n)]
  assert abs(_covers(outs, delta) - 0.95) <= 0.02, _covers(outs, delta)
  power = np.mean([o['ci95'][0] > 0 for o in outs])
  # the MDE formula's power at the true effect: (t_.975 + t_q) sqrt(sigma^2 / n + shared) = delta,
  # with the interval's Welch-Satterthwaite degrees of freedom
  spread = sigma ** 2 / n
  df = (n - 1) * (1 + shared / spread) ** 2
  ncp = delta / np.sqrt(spread + shared)
  predicted = scipy.stats.t.cdf(ncp - scipy.stats.t.ppf(0.975, df), df)
  exact = scipy.stats.nct.sf(scipy.stats.t.ppf(0.975, df), df, ncp)
  tolerance = 3 * np.sqrt(predicted * (1 - predicted) / M) + abs(predicted - exact)
  assert 0.3 < predicted < 0.95, predicted
  assert abs(power - predicted) <= tolerance, (power, predicted, exact)
