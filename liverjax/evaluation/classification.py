"""Classification metrics and their summary over folds x seeds.

Per class c (one vs rest): sensitivity = TP / (TP + FN), specificity = TN / (TN + FP).
- macro averages: the plain mean of the per-class values. The paper's headline specificity
  (88.4% classic, 92.4% with DCGAN) is the macro specificity.
- micro averages: pool TP, FN, TN, FP over classes first. Micro sensitivity equals total accuracy
  (the paper's headline "sensitivity"); micro specificity is (K - 2 + accuracy) / (K - 1) for K
  classes, so it carries no information beyond accuracy.
Summaries (:data:`INTERVAL`): the seeds of a unit (a cross-validation split, or a replicate) share
its test ROIs, so they are averaged within each unit first; the mean is over units, and its 95%
interval a Student-t interval over units on the logit scale, mapped back, so that it stays inside
[0, 1], its variance scaled by the design's factor c (:mod:`liverjax.evaluation.inference`: splits
share training ROIs). Paired comparisons pair units the same way (:func:`inference.paired`).
"""

from __future__ import annotations

import numpy as np
import scipy.special
import scipy.stats

from liverjax.evaluation import inference


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


INTERVAL = ('seeds averaged within each unit (split or replicate); mean over units; 95% Student-t '
            'interval over units on the logit scale, variance x c (1 + n n_test/n_train for '
            'cross-validation, Nadeau and Bengio 2003; 1 for independent replicates)')


def mean_ci95(values) -> dict:
  """Returns {'mean', 'ci95': [lo, hi], 'n'} with a Student-t 95% interval (nan-free values)."""
  v = np.asarray(values, np.float64)
  mean = float(v.mean())
  if len(v) < 2:
    return {'mean': mean, 'ci95': [mean, mean], 'n': len(v)}
  half = float(scipy.stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
  return {'mean': mean, 'ci95': [mean - half, mean + half], 'n': len(v)}


def proportion_ci95(values, n_cases: int, c: float = 1.0) -> dict:
  """Returns {'mean', 'ci95': [lo, hi], 'n'} of proportions (one per unit): their mean, and a
  Student-t 95% interval of their logits, variance of the mean s^2 c / n, mapped back to [0, 1].
  Proportions of 0 or 1 enter the logit as 0.5 / n_cases or 1 - 0.5 / n_cases (n_cases: the
  smallest number of cases behind one)."""
  v = np.asarray(values, np.float64)
  mean = float(v.mean())
  if len(v) < 2 or np.all(v == v[0]):
    return {'mean': mean, 'ci95': [mean, mean], 'n': len(v)}
  eps = 0.5 / max(int(n_cases), 1)
  logits = scipy.special.logit(np.clip(v, eps, 1.0 - eps))
  half = scipy.stats.t.ppf(0.975, len(v) - 1) * logits.std(ddof=1) * np.sqrt(c / len(v))
  lo, hi = scipy.special.expit(logits.mean() + np.array([-half, half]))
  return {'mean': mean, 'ci95': [float(lo), float(hi)], 'n': len(v)}


SCALAR_METRICS = ('accuracy', 'sensitivity_macro', 'specificity_macro', 'sensitivity_micro',
                  'specificity_micro')


def summarize(runs: list[dict], classes, design: inference.Design | None = None) -> dict:
  """Returns one arm's summary from its runs (each with 'fold', 'seed', 'confusion').

  Each scalar metric gets 'per_run', 'per_fold' (mean over a unit's seeds), and the mean over
  units with a 95% interval inside [0, 1] (:func:`proportion_ci95`, the design's c; 'n' = units;
  design None: independent units); per-class
  sensitivity/specificity get their means over runs; 'confusion' is summed over runs.
  """
  runs = sorted(runs, key=lambda r: (r['seed'], r['fold']))
  per_run = [metrics_from_confusion(r['confusion']) for r in runs]
  folds = sorted({r['fold'] for r in runs})
  n_cases = min(int(np.sum(r['confusion'])) for r in runs)
  c = design.with_units(len(folds)).c if design else 1.0
  out = {'interval': INTERVAL}
  for name in SCALAR_METRICS:
    vals = [m[name] for m in per_run]
    per_fold = [float(np.mean([m[name] for m, r in zip(per_run, runs) if r['fold'] == f]))
                for f in folds]
    out[name] = proportion_ci95(per_fold, n_cases, c)
    out[name]['per_fold'] = per_fold
    out[name]['per_run'] = vals
  for name in ('sensitivity', 'specificity'):
    per_class = np.nanmean(np.asarray([m[name] for m in per_run], np.float64), axis=0)
    out[f'{name}_per_class'] = dict(zip(classes, per_class.tolist()))
  out['confusion'] = np.sum([np.asarray(r['confusion']) for r in runs], axis=0).tolist()
  out['runs'] = [{'fold': r['fold'], 'seed': r['seed']} for r in runs]
  return out


def pack_correct(correct) -> str:
  """Returns a run's right/wrong answers per test ROI as hex of packed bits (1 = right)."""
  return np.packbits(np.asarray(correct, bool)).tobytes().hex()


def unpack_correct(packed: str, n: int) -> np.ndarray:
  """Returns the n right/wrong answers (bool) that :func:`pack_correct` packed."""
  return np.unpackbits(np.frombuffer(bytes.fromhex(packed), np.uint8))[:n].astype(bool)


def fold_means(runs: list[dict], metric: str = 'accuracy') -> dict:
  """Returns {fold: mean of the metric over the fold's runs (its seeds)}."""
  folds = sorted({r['fold'] for r in runs})
  return {f: float(np.mean([r[metric] for r in runs if r['fold'] == f])) for f in folds}
