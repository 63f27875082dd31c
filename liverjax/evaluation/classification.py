"""Classification metrics and their summary over folds x seeds.

Per class c (one vs rest): sensitivity = TP / (TP + FN), specificity = TN / (TN + FP).
- macro averages: the plain mean of the per-class values. The paper's headline specificity
  (88.4% classic, 92.4% with DCGAN) is the macro specificity.
- micro averages: pool TP, FN, TN, FP over classes first. Micro sensitivity equals total accuracy
  (the paper's headline "sensitivity"); micro specificity is (K - 2 + accuracy) / (K - 1) for K
  classes, so it carries no information beyond accuracy.
Summaries give the mean over the runs (folds x seeds) and a 95% Student-t interval. Runs share
training images across folds, so the interval is approximate (optimistic); it is what the paper's
protocol allows.
"""

from __future__ import annotations

import numpy as np
import scipy.stats


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
  """Returns the (K, K) count matrix: rows are true classes, columns predicted classes."""
  cm = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(cm, (np.asarray(labels), np.asarray(preds)), 1)
  return cm


def metrics_from_confusion(cm: np.ndarray) -> dict:
  """Returns accuracy, per-class sensitivity/specificity and their macro and micro averages."""
  cm = np.asarray(cm, np.float64)
  total = cm.sum()
  tp = np.diag(cm)
  fn = cm.sum(1) - tp
  fp = cm.sum(0) - tp
  tn = total - tp - fn - fp
  with np.errstate(invalid='ignore', divide='ignore'):
    sens = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
    spec = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
  return {
      'accuracy': float(tp.sum() / total) if total else float('nan'),
      'sensitivity': sens.tolist(),
      'specificity': spec.tolist(),
      'sensitivity_macro': float(np.nanmean(sens)),
      'specificity_macro': float(np.nanmean(spec)),
      'sensitivity_micro': float(tp.sum() / (tp.sum() + fn.sum())),
      'specificity_micro': float(tn.sum() / (tn.sum() + fp.sum())),
  }


def mean_ci95(values) -> dict:
  """Returns {'mean', 'ci95': [lo, hi], 'n'} with a Student-t 95% interval (nan-free values)."""
  v = np.asarray(values, np.float64)
  mean = float(v.mean())
  if len(v) < 2:
    return {'mean': mean, 'ci95': [mean, mean], 'n': len(v)}
  half = float(scipy.stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
  return {'mean': mean, 'ci95': [mean - half, mean + half], 'n': len(v)}


SCALAR_METRICS = ('accuracy', 'sensitivity_macro', 'specificity_macro', 'sensitivity_micro',
                  'specificity_micro')


def summarize(runs: list[dict], classes) -> dict:
  """Returns one arm's summary from its runs (each with 'fold', 'seed', 'confusion').

  Each scalar metric gets mean and ci95 over all runs, 'per_fold' (mean over seeds, by fold) and
  'per_run'; per-class sensitivity/specificity get their means; 'confusion' is summed over runs.
  """
  runs = sorted(runs, key=lambda r: (r['seed'], r['fold']))
  per_run = [metrics_from_confusion(r['confusion']) for r in runs]
  folds = sorted({r['fold'] for r in runs})
  out = {}
  for name in SCALAR_METRICS:
    vals = [m[name] for m in per_run]
    out[name] = mean_ci95(vals)
    out[name]['per_fold'] = [float(np.mean([m[name] for m, r in zip(per_run, runs)
                                            if r['fold'] == f])) for f in folds]
    out[name]['per_run'] = vals
  for name in ('sensitivity', 'specificity'):
    per_class = np.nanmean(np.asarray([m[name] for m in per_run], np.float64), axis=0)
    out[f'{name}_per_class'] = dict(zip(classes, per_class.tolist()))
  out['confusion'] = np.sum([np.asarray(r['confusion']) for r in runs], axis=0).tolist()
  out['runs'] = [{'fold': r['fold'], 'seed': r['seed']} for r in runs]
  return out


def paired_test(a, b, n_random: int = 20000) -> dict:
  """Returns the paired comparison of arm a vs arm b over matched (seed, fold) runs.

  Gives the mean difference a - b with a Student-t 95% interval, the paired t-test p-value and a
  two-sided sign-flip permutation p-value (exact for n <= 16, else n_random random flips with a
  fixed seed). Folds share training data, so both p-values are approximate (optimistic).
  """
  d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
  n = len(d)
  out = {'n': n, 'mean_diff': float(d.mean()) if n else float('nan')}
  if n < 2:
    return dict(out, ci95=[out['mean_diff']] * 2, p_ttest=float('nan'), p_permutation=float('nan'))
  out['ci95'] = mean_ci95(d)['ci95']
  out['p_ttest'] = float(scipy.stats.ttest_1samp(d, 0.0).pvalue) if d.std() > 0 else (
      1.0 if d.mean() == 0 else 0.0)
  if n <= 16:
    signs = np.array([[1 - 2 * ((i >> j) & 1) for j in range(n)] for i in range(2 ** n)])
  else:
    signs = np.random.default_rng(0).choice([-1, 1], size=(n_random, n))
  stats = np.abs((signs * d).mean(1))
  out['p_permutation'] = float(np.mean(stats >= abs(d.mean()) - 1e-12))
  return out
