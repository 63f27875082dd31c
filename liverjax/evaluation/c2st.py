"""A machine Turing test: can a small classifier tell synthetic feature vectors from real ones?

Classifier two-sample test (C2ST, Lopez-Paz & Oquab 2017): a small gradient-boosted tree
classifier learns real vs synthetic under grouped cross-validation (a patient's ROIs, or each
synthetic image, stay in one fold). Each fold's held-out part gives a ROC AUC: 0.5 when the two
are indistinguishable, 1 when every synthetic image is told apart. The result is their mean with
a Student-t 95% interval over folds, clipped to [0, 1]; it carries the folds' dependence that an
interval on one pooled AUC misses. With ~20 real ROIs per class and fold the interval is wide: the
test has little power on small sets, and says so through it.

Trees, not a linear model or nearest neighbours: a collapsed generator's images sit together near
the real mean, where no hyperplane separates them and where they are every real point's nearest
neighbours (a logistic regression scored 0.58 and a 10-nearest-neighbour classifier 0.86 on such a
case, the trees 1.0).

The trees run on one OpenMP thread (``OPENMP_THREADS``): OpenMP's threads spin while they wait,
so two processes each with a thread a core (two benchmark parts, or a test run beside a job)
slowed each other's C2ST about fivefold on a 2-core AMD EPYC with AVX-512, and a benchmark part's
synthetic-quality stage from about one minute to 17-25. On one thread a C2ST alone takes
1.1-1.6 times as long (5.7-6.6 s against 4.0-5.2 over three runs of the benchmark below), and two
side by side are not slowed (5.7-6.4 s each against 18-25; ``python benchmarks/c2st_threads.py``,
``benchmarks/c2st_threads.json``). The AUCs are the same. End to end, ``python -m
liverjax.tools.quality --tstr_per_class=0`` judging 600 diffusion samples took 32.5 s alone with
OpenMP's default threads and 33.9 s with one; two side by side 123-126 s each with the default
and 64-65 s with one.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

OPENMP_THREADS: int | None = 1   # None: OpenMP's default, a thread a core


def c2st(real, synthetic, real_groups=None, folds: int = 5, seed: int = 0) -> dict:
  """Returns {'auc', 'ci95', 'n_real', 'n_synthetic', 'folds', 'roc'} of telling synthetic (M, D) from
  real (N, D) feature vectors, scored out of fold (folds whose held-out part lacks one side are
  left out; with fewer than two left, auc and ci95 are None and 'why' says so). real_groups
  (N,): ROIs of one group (patient) stay in one fold; each synthetic image is its own group."""
  real, synthetic = np.asarray(real, np.float64), np.asarray(synthetic, np.float64)
  n, m = len(real), len(synthetic)
  x = np.concatenate([real, synthetic])
  y = np.concatenate([np.zeros(n, int), np.ones(m, int)])
  groups = np.concatenate([np.arange(n) if real_groups is None else np.asarray(real_groups),
                           -1 - np.arange(m)])
  folds = int(min(folds, n, m))
  splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
  aucs, scores = [], np.full(len(y), np.nan)
  for train, test in splitter.split(x, y, groups):
    if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2:
      continue   # few real groups: a fold may hold one side only (no AUC there)
    model = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=8, min_samples_leaf=5,
                                           random_state=seed)
    with threadpool_limits(limits=OPENMP_THREADS, user_api='openmp'):
      model.fit(x[train], y[train])
      scores[test] = model.predict_proba(x[test])[:, 1]
    aucs.append(float(roc_auc_score(y[test], scores[test])))
  if len(aucs) < 2:
    n_groups = len(np.unique(groups[:n]))
    return {'auc': None, 'ci95': None, 'fold_aucs': aucs, 'n_real': n, 'n_synthetic': m,
            'folds': len(aucs), 'roc': None,
            'why': f'{n} real ROIs of {n_groups} patients: only {len(aucs)} of {folds} folds held '
                   'real and synthetic images on both sides; C2ST needs 2 (about 2 x 5 patients)'}
  folds = len(aucs)
  mean = float(np.mean(aucs))
  half = float(scipy.stats.t.ppf(0.975, folds - 1) * np.std(aucs, ddof=1) / np.sqrt(folds))
  return {'auc': mean, 'ci95': [max(0.0, mean - half), min(1.0, mean + half)],
          'fold_aucs': aucs, 'n_real': n, 'n_synthetic': m, 'folds': folds,
          'roc': pooled_roc(y, scores)}


def pooled_roc(y: np.ndarray, scores: np.ndarray, points: int = 21) -> dict:
  """Returns {'fpr', 'tpr'}: the ROC curve of the out-of-fold scores pooled over folds (the
  samples that were scored), its true-positive rate read at `points` even false-positive rates."""
  kept = np.isfinite(scores)
  fpr, tpr, _ = roc_curve(y[kept], scores[kept])
  grid = np.linspace(0.0, 1.0, points)
  return {'fpr': grid.tolist(), 'tpr': np.interp(grid, fpr, tpr).tolist()}
