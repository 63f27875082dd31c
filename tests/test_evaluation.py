import numpy as np
import pytest
import scipy.stats
from sklearn import metrics as sklearn_metrics

from liverjax.evaluation import classification


@pytest.mark.parametrize('k,seed', [(2, 0), (3, 1), (5, 2)])
def test_metrics_agree_with_sklearn(k, seed):
  rng = np.random.default_rng(seed)
  y = rng.integers(0, k, 200)
  p = np.where(rng.uniform(size=200) < 0.6, y, rng.integers(0, k, 200))
  cm = classification.confusion_matrix(y, p, k)
  np.testing.assert_array_equal(cm, sklearn_metrics.confusion_matrix(y, p, labels=range(k)))
  m = classification.metrics_from_confusion(cm)
  assert m['accuracy'] == pytest.approx(sklearn_metrics.accuracy_score(y, p))
  recall = sklearn_metrics.recall_score(y, p, labels=range(k), average=None)
  np.testing.assert_allclose(m['sensitivity'], recall)
  assert m['sensitivity_macro'] == pytest.approx(
      sklearn_metrics.recall_score(y, p, average='macro'))
  assert m['sensitivity_micro'] == pytest.approx(
      sklearn_metrics.recall_score(y, p, average='micro'))
  # specificity of class c = recall of "not c" in the one-vs-rest problem
  spec = [sklearn_metrics.recall_score(y != c, p != c) for c in range(k)]
  np.testing.assert_allclose(m['specificity'], spec)
  assert m['specificity_macro'] == pytest.approx(np.mean(spec))
  # micro specificity is a function of accuracy: (K - 2 + acc) / (K - 1)
  assert m['specificity_micro'] == pytest.approx((k - 2 + m['accuracy']) / (k - 1))


def test_mean_ci95_matches_scipy():
  v = [0.6, 0.7, 0.65, 0.8, 0.72, 0.68]
  out = classification.mean_ci95(v)
  lo, hi = scipy.stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=scipy.stats.sem(v))
  assert out['mean'] == pytest.approx(np.mean(v))
  np.testing.assert_allclose(out['ci95'], [lo, hi])


def test_summarize_per_fold_and_pooled_confusion():
  runs = [{'fold': f, 'seed': s, 'confusion': [[3 + s, 1], [f, 4]]} for s in (0, 1) for f in (0, 1)]
  out = classification.summarize(runs, ('a', 'b'))
  assert out['accuracy']['n'] == 4 and len(out['accuracy']['per_fold']) == 2
  assert out['confusion'] == [[14, 4], [2, 16]]
  assert set(out['sensitivity_per_class']) == {'a', 'b'}


def test_paired_test_matches_scipy_and_exact_permutation():
  a = [0.80, 0.75, 0.90, 0.70, 0.85, 0.78]
  b = [0.70, 0.72, 0.80, 0.71, 0.75, 0.70]
  out = classification.paired_test(a, b)
  assert out['n'] == 6 and out['mean_diff'] == pytest.approx(np.mean(np.subtract(a, b)))
  assert out['p_ttest'] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue)
  # the exact two-sided sign-flip p-value, by brute force over all 2^6 sign patterns
  d = np.subtract(a, b)
  flips = [np.abs(np.mean(d * s)) >= np.abs(d.mean()) - 1e-12 for s in
           (np.array([1 - 2 * ((i >> j) & 1) for j in range(6)]) for i in range(64))]
  assert out['p_permutation'] == pytest.approx(np.mean(flips))
  same = classification.paired_test(a, a)
  assert same['mean_diff'] == 0 and same['p_permutation'] == 1.0
