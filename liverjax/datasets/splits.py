"""Cross-validation folds grouped by patient (or lesion) and stratified by class."""

from __future__ import annotations

import numpy as np

from liverjax.base.errors import DataError


def stratified_group_kfold(labels: np.ndarray, groups: np.ndarray, k: int = 3,
                           seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
  """Returns k (train_idx, test_idx) pairs; every group lies in exactly one test fold.

  Greedy, as scikit-learn's StratifiedGroupKFold: groups in random order, largest first, each goes
  to the fold whose class proportions it disturbs least (ties: the smaller fold).
  """
  labels, groups = np.asarray(labels), np.asarray(groups)
  uniq, inv = np.unique(groups, return_inverse=True)
  n_classes = int(labels.max()) + 1
  if len(uniq) < k:
    raise DataError(f'only {len(uniq)} groups: cannot make {k} folds')
  counts = np.zeros((len(uniq), n_classes))
  np.add.at(counts, (inv, labels), 1)
  totals = counts.sum(0)
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(uniq))
  order = order[np.argsort(-counts[order].std(1) - 1e3 * counts[order].sum(1), kind='stable')]
  fold_counts = np.zeros((k, n_classes))
  assign = np.empty(len(uniq), np.int64)
  for g in order:
    best, best_score = 0, None
    for f in range(k):
      fc = fold_counts.copy()
      fc[f] += counts[g]
      score = (np.std(fc / np.maximum(totals, 1), axis=0).mean(), fc[f].sum())
      if best_score is None or score < best_score:
        best, best_score = f, score
    assign[g] = best
    fold_counts[best] += counts[g]
  fold_of_image = assign[inv]
  return [(np.flatnonzero(fold_of_image != f), np.flatnonzero(fold_of_image == f))
          for f in range(k)]


def keep_fraction(folds: list[tuple[np.ndarray, np.ndarray]], labels: np.ndarray,
                  groups: np.ndarray, fraction: float,
                  seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
  """Returns folds whose training parts keep `fraction` of their groups (patients), per class:
  of the training groups whose (majority) class is c, the first max(1, round(fraction x n_c)) in
  an order drawn from (seed, fold). Test parts are unchanged. The kept groups are nested: a
  smaller fraction keeps a subset of a larger one's (a learning curve adds patients, never
  swaps them)."""
  if not 0.0 < fraction <= 1.0:
    raise DataError(f'data.fraction={fraction}: must be in (0, 1]')
  if fraction == 1.0:
    return folds
  labels, groups = np.asarray(labels), np.asarray(groups)
  out = []
  for f, (train, test) in enumerate(folds):
    uniq, inv = np.unique(groups[train], return_inverse=True)
    counts = np.zeros((len(uniq), int(labels.max()) + 1))
    np.add.at(counts, (inv, labels[train]), 1)
    major = counts.argmax(1)
    rng = np.random.default_rng([seed, f])
    order = rng.permutation(len(uniq))
    keep = np.zeros(len(uniq), bool)
    for c in np.unique(major):
      mine = order[major[order] == c]
      keep[mine[:max(1, round(fraction * len(mine)))]] = True
    out.append((train[keep[inv]], test))
  return out


def repeat_seed(seed: int, repeat: int) -> int:
  """Returns the seed of repeat `repeat`'s partition: `seed` itself for the first (so one repeat
  gives the folds of plain k-fold), else drawn from the seed sequence (seed, repeat)."""
  return seed if repeat == 0 else int(np.random.SeedSequence([seed, repeat]).generate_state(1)[0])


def experiment_folds(labels: np.ndarray, groups: np.ndarray, data_config, k: int, seed: int,
                     repeats: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
  """Returns the k grouped, stratified folds of each of `repeats` partitions (split r * k + f is
  fold f of repeat r; each partition from its own seed, :func:`repeat_seed`), their training
  parts cut to data_config.fraction (default 1: all) of their patients (:func:`keep_fraction`)."""
  if repeats < 1:
    raise DataError(f'cv.repeats={repeats}: must be 1 or more')
  out = []
  for r in range(repeats):
    s = repeat_seed(seed, r)
    folds = stratified_group_kfold(labels, groups, k, seed=s)
    out += keep_fraction(folds, labels, groups, float(data_config.get('fraction', 1.0)), s)
  return out
