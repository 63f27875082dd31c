"""The visual Turing test's statistics on hand-computed cases (liverjax/evaluation/turing.py)."""

import numpy as np
import pytest

from liverjax.evaluation import turing

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 items, 14 raters, 5 categories.
FLEISS_TABLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
                [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
                [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def _answers(reader, synthetic, said_synthetic, confidence, label=None, said_label=None):
  n = len(synthetic)
  label = np.zeros(n, int) if label is None else np.asarray(label)
  return {'reader': np.array([reader] * n), 'item': np.array([f'i{k}' for k in range(n)]),
          'synthetic': np.asarray(synthetic), 'label': label,
          'said_synthetic': np.asarray(said_synthetic),
          'said_label': label if said_label is None else np.asarray(said_label),
          'confidence': np.asarray(confidence)}


def _join(*answers):
  return {f: np.concatenate([a[f] for a in answers]) for f in turing.FIELDS}


def test_auc_counts_ties_as_half():
  # positives 3, 1, -2 against negatives 1, -4: 2 + 1.5 + 1 wins of 6 pairs.
  assert turing.auc([3, 1, -2, 1, -4], [1, 1, 1, 0, 0]) == pytest.approx(0.75, abs=1e-12)
  assert np.isnan(turing.auc([1, 2], [1, 1]))


def test_cohen_kappa_by_hand():
  # agreement 7/10; both raters' marginals give chance agreement .6 x .5 + .4 x .5 = .5.
  a = [1, 1, 0, 0, 1, 0, 1, 1, 0, 1]
  b = [1, 0, 0, 0, 1, 1, 1, 1, 0, 0]
  assert turing.cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)
  assert turing.cohen_kappa(a, a) == 1.0
  assert turing.cohen_kappa([1, 1], [1, 1]) == 1.0   # one category only: perfect, not 0/0


def test_fleiss_kappa_worked_example():
  # P-bar = 0.378, P-e = 0.213 (the worked example): kappa = 0.210 to three places.
  assert turing.fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=5e-5)


def test_one_reader_summary_by_hand():
  # 4 real, 4 synthetic; 3 of 4 synthetic called synthetic, 1 of 4 real called synthetic.
  a = _answers('r1', synthetic=[0, 0, 0, 0, 1, 1, 1, 1], said_synthetic=[1, 0, 0, 0, 1, 1, 1, 0],
               confidence=[2, 5, 3, 1, 4, 2, 1, 3], label=[0, 1, 2, 0, 1, 2, 0, 1],
               said_label=[0, 1, 0, 0, 1, 1, 0, 2])
  s = turing.summary(a)
  assert (s['n'], s['n_real'], s['n_synthetic']) == (8, 4, 4)
  assert s['accuracy'] == 0.75 and s['sensitivity'] == 0.75 and s['specificity'] == 0.75
  # two-sided binomial p of 6 of 8 at 0.5: 2 x (28 + 8 + 1) / 256.
  assert s['binomial_p'] == pytest.approx(74 / 256, abs=1e-12)
  # signed scores: real [2, -5, -3, -1], synthetic [4, 2, 1, -3]: 4 + 3.5 + 3 + 1.5 wins of
  # 16 pairs (2 = 2 and -3 = -3 are ties, half a win each).
  assert s['auc'] == pytest.approx(12 / 16, abs=1e-12)
  assert s['class_accuracy_real'] == 0.75 and s['class_accuracy_synthetic'] == 0.5


def test_pooled_interval_resamples_images_not_answers():
  """A second reader who answers exactly as the first adds no information: the pooled
  intervals equal the one reader's, image for image (a bootstrap over answers would narrow)."""
  rng = np.random.default_rng(0)
  syn = np.r_[np.zeros(20, int), np.ones(20, int)]
  one = _answers('r1', syn, rng.integers(0, 2, 40), rng.integers(1, 6, 40))
  twin = dict(one, reader=np.array(['r2'] * 40))
  alone = turing.study_stats(one, ['a'], n_boot=300, seed=3)['pooled']
  both = turing.study_stats(_join(one, twin), ['a'], n_boot=300, seed=3)['pooled']
  assert both['accuracy'] == alone['accuracy']
  assert both['ci95'] == alone['ci95']
  assert both['sign_test_p'] == alone['sign_test_p'] == turing.summary(one)['binomial_p']
  lo, hi = alone['ci95']['accuracy']
  assert lo < alone['accuracy'] < hi


def test_agreement_and_medigan_row():
  syn = [0, 0, 1, 1, 0, 1]
  r1 = _answers('r1', syn, [0, 1, 1, 1, 0, 0], [3] * 6, label=[0, 1, 2, 0, 1, 2])
  r2 = dict(r1, reader=np.array(['r2'] * 6))
  r3 = _answers('r3', syn, [1, 1, 1, 0, 0, 0], [3] * 6, label=[0, 1, 2, 0, 1, 2],
                said_label=[0, 1, 2, 0, 1, 1])
  stats = turing.study_stats(_join(r1, r2, r3), ['a', 'b', 'c'], n_boot=50)
  agree = stats['agreement']
  assert agree['items'] == 6
  assert agree['cohen']['source']['r1 / r2'] == 1.0
  # r1 vs r3 on source: [0,1,1,1,0,0] vs [1,1,1,0,0,0]: agreement 4/6, chance .5 x .5 x 2.
  assert agree['cohen']['source']['r1 / r3'] == pytest.approx(1 / 3, abs=1e-12)
  assert stats['medigan'] == {'readers': 3, 'AUC': stats['pooled']['auc'],
                              'accuracy': stats['pooled']['accuracy']}
  assert stats['pooled']['n'] == 18 and set(stats['per_reader']) == {'r1', 'r2', 'r3'}
  # images right by majority: shares [2/3, 0, 1, 2/3, 1, 0] -> 4 right, 2 wrong: 2 x 22 / 64.
  assert stats['pooled']['sign_test_p'] == pytest.approx(44 / 64, abs=1e-12)


def test_no_answers_yet():
  empty = {f: np.array([]) for f in turing.FIELDS}
  stats = turing.study_stats(empty, ['a', 'b'])
  assert stats['pooled'] == {} and stats['medigan']['readers'] == 0
