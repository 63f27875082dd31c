import numpy as np
import pytest
import scipy.stats
import ml_collections
from sklearn import metrics as sklearn_metrics

from liverjax.evaluation import classification, inference
from liverjax.experiment import summary


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
  assert out['accuracy']['n'] == 2 and len(out['accuracy']['per_fold']) == 2   # n = folds
  assert len(out['accuracy']['per_run']) == 4
  assert out['confusion'] == [[14, 4], [2, 16]]
  assert set(out['sensitivity_per_class']) == {'a', 'b'}


def test_proportion_interval_is_a_logit_t_interval_inside_0_1():
  v = [0.05, 0.5, 0.9]
  out = classification.proportion_ci95(v, n_cases=60)
  logits = np.log(np.divide(v, np.subtract(1, v)))
  lo, hi = scipy.stats.t.interval(0.95, 2, loc=logits.mean(), scale=scipy.stats.sem(logits))
  np.testing.assert_allclose(out['ci95'], 1 / (1 + np.exp(-np.array([lo, hi]))))
  assert out['mean'] == pytest.approx(np.mean(v)) and out['n'] == 3
  assert 0.0 < out['ci95'][0] < out['mean'] < out['ci95'][1] < 1.0
  # the Student-t interval on the proportions themselves would leave [0, 1] here
  assert classification.mean_ci95(v)['ci95'][0] < 0.0
  edge = classification.proportion_ci95([0.0, 1.0, 0.5], n_cases=20)   # 0, 1 enter as 1/40
  assert 0.0 < edge['ci95'][0] < 0.5 < edge['ci95'][1] < 1.0
  assert classification.proportion_ci95([0.7, 0.7], 10)['ci95'] == [0.7, 0.7]


def test_seeds_are_averaged_within_folds():
  """Two seeds of one fold share its test ROIs: the interval is over folds' seed means."""
  acc = {(0, 0): 0.9, (1, 0): 0.7, (0, 1): 0.6, (1, 1): 0.6, (0, 2): 0.3, (1, 2): 0.5}
  runs = []
  for (seed, fold), a in acc.items():
    right = int(round(a * 10))
    runs.append({'fold': fold, 'seed': seed, 'confusion': [[right, 10 - right], [0, 0]]})
  out = classification.summarize(runs, ('a', 'b'))['accuracy']
  assert out['per_fold'] == pytest.approx([0.8, 0.6, 0.4])
  assert out['n'] == 3
  assert out['ci95'] == pytest.approx(classification.proportion_ci95([0.8, 0.6, 0.4], 10)['ci95'])


def test_arms_are_paired_fold_by_fold():
  config = ml_collections.ConfigDict({'arms': ('none', 'classic')})
  records = []
  for arm, base in (('none', 0.5), ('classic', 0.6)):
    for seed in (0, 1):
      for fold in range(3):
        a = base + 0.1 * fold + 0.1 * seed
        right = int(round(a * 10))
        records.append({'arm': arm, 'size': 0 if arm == 'none' else 64, 'seed': seed,
                        'fold': fold, 'accuracy': right / 10,
                        'confusion': [[right, 10 - right], [0, 0]]})
  design = inference.Design.cv(3, 1, 0.5)
  out = summary.summarize(records, ('a', 'b'), config, design)
  paired = out['paired_accuracy']['classic_vs_none']
  assert paired['n'] == 3                               # folds, not (seed, fold) runs
  assert paired['mean_diff'] == pytest.approx(0.1)
  assert 'p_permutation' not in paired                  # splits are not exchangeable units
  assert paired['design'] == design.describe() and out['design']['c'] == pytest.approx(2.5)
  # the arms' intervals carry the same correction: wider than over independent folds
  plain = classification.summarize([r for r in records if r['arm'] == 'classic'], ('a', 'b'))
  lo, hi = out['arms']['classic']['accuracy']['ci95']
  assert lo < plain['accuracy']['ci95'][0] and hi > plain['accuracy']['ci95'][1]
