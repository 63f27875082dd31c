"""The classifier two-sample test: chance on one distribution, near 1 on an obvious difference."""

import numpy as np
import threadpoolctl

from liverjax.evaluation import c2st


def test_two_halves_of_one_set_are_indistinguishable():
  """Over 20 draws of two halves of one set, the AUC averages 0.5 and the interval covers it in
  at least 15 (a 95% interval misses more than 5 of 20 with probability 3e-4; with the 90%
  coverage measured here, 1%). Out-of-fold AUCs of a local learner lean below 0.5 under the null
  (each held-out point leaves a hole in its own class's training data): seed 0 gives 0.42."""
  covered, aucs, areas = 0, [], []
  for seed in range(20):
    x = np.random.default_rng(seed).normal(size=(240, 16))
    out = c2st.c2st(x[:120], x[120:], real_groups=np.arange(120) // 3)
    lo, hi = out['ci95']
    covered += lo < 0.5 < hi
    aucs.append(out['auc'])
    assert 0.0 <= lo and hi <= 1.0 and len(out['fold_aucs']) == 5
    roc = out['roc']
    assert roc['fpr'][0] == 0.0 and roc['fpr'][-1] == 1.0 and roc['tpr'][-1] == 1.0
    assert np.all(np.diff(roc['tpr']) >= 0)
    areas.append(np.trapezoid(roc['tpr'], roc['fpr']))
  assert covered >= 15 and abs(np.mean(aucs) - 0.5) < 0.05, (covered, np.mean(aucs))
  # The pooled curve's area on a 21-point grid, averaged over the draws, sits near the diagonal's
  # (its grid reads the step curve low or high by at most one step's share, about 1/20).
  assert abs(np.mean(areas) - 0.5) < 0.1, np.mean(areas)


def test_blank_images_are_told_apart():
  rng = np.random.default_rng(1)
  real = rng.normal(size=(60, 16))
  blank = rng.normal(scale=1e-3, size=(60, 16))   # what a collapsed generator's features look like
  out = c2st.c2st(real, blank)
  assert out['auc'] > 0.95 and out['ci95'][0] > 0.8, out
  assert out['roc']['tpr'][2] > 0.9, out['roc']   # at 10% false positives, nearly all found


def test_a_small_shift_is_seen_with_enough_samples_only():
  rng = np.random.default_rng(2)
  big = c2st.c2st(rng.normal(size=(600, 8)), rng.normal(size=(600, 8)) + 0.3)
  assert big['ci95'][0] > 0.5, big
  small = c2st.c2st(rng.normal(size=(20, 8)), rng.normal(size=(20, 8)) + 0.3)
  assert small['ci95'][1] - small['ci95'][0] > 2 * (big['ci95'][1] - big['ci95'][0])


def test_too_few_patients_give_a_reason_not_a_nan():
  """Seven lesions of one class (the real two-class set's tumours): grouped folds cannot hold
  real and synthetic images on both sides of two folds, and the result says so."""
  from liverjax.report import quality
  rng = np.random.default_rng(0)
  out = c2st.c2st(rng.normal(size=(7, 4)), rng.normal(size=(21, 4)), np.zeros(7, int))
  assert out['auc'] is None and out['ci95'] is None and '1 patients' in out['why']
  m = {k: {'synthetic': 0.5, 'real': 0.5} for k in ('fd', 'kid', 'precision', 'recall', 'density',
                                                    'coverage', 'memorised_pixels',
                                                    'memorised_features')}
  m['c2st'] = {'synthetic': None, 'real': None, 'why': out['why']}
  text = '\n'.join(quality.synthetic_quality({'synthetic_quality': {'dcgan': {'per_class': {
      'tumour': m}}}}))
  assert 'nan' not in text.lower() and 'n/a* (n/a*)' in text
  assert f'- n/a*: dcgan/tumour C2ST: {out["why"]}.' in text


def test_the_trees_fit_and_score_on_one_openmp_thread(monkeypatch):
  """OpenMP's spinning threads made two processes' C2STs slow each other fivefold on 2 cores
  (benchmarks/c2st_threads.py): fit and predict_proba run under c2st.OPENMP_THREADS = 1."""
  seen = []
  model = c2st.HistGradientBoostingClassifier
  fit, proba = model.fit, model.predict_proba

  def openmp_threads():
    return [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'openmp']

  def fit_spy(self, *a, **k):
    seen.append(openmp_threads())
    return fit(self, *a, **k)

  def proba_spy(self, *a, **k):
    seen.append(openmp_threads())
    return proba(self, *a, **k)

  monkeypatch.setattr(model, 'fit', fit_spy)
  monkeypatch.setattr(model, 'predict_proba', proba_spy)
  x = np.random.default_rng(0).normal(size=(60, 4))
  c2st.c2st(x[:30], x[30:] + 1.0)
  # Every OpenMP runtime loaded is limited; there may be more than one (another test in the same
  # worker can load a second), so each fit sees [1] or [1, 1], never a runtime left at a core each.
  assert len(seen) == 10 and all(threads and set(threads) == {1} for threads in seen), seen
