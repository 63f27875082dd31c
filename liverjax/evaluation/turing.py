"""Statistics of a visual Turing test: readers told real from synthetic ROIs and named the lesion.

Each answer is one reader's verdict on one image: real or synthetic, a class, and a confidence from
1 to 5. "Synthetic" is the positive class: sensitivity is the share of synthetic images called
synthetic, specificity the share of real ones called real. The ROC AUC ranks images by a signed
score, +confidence for "synthetic" and -confidence for "real" (0.5: the reader cannot tell).

Readers see the same images, so their answers are not independent. Each reader is reported alone
(with a binomial test against chance); the pooled figures (all answers together) carry 95%
intervals from a bootstrap over images that keeps every reader's answers to an image together, and
a sign test over images (each image's majority verdict) in place of a binomial test over answers,
which would count a repeated image as new evidence. Agreement between readers: Cohen's kappa per pair, Fleiss' kappa
over all readers, on the images that every reader answered.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.stats

FIELDS = ('reader', 'item', 'synthetic', 'label', 'said_synthetic', 'said_label', 'confidence')


def auc(scores, positive) -> float:
  """Returns the ROC AUC of scores for the positive class: P(score+ > score-) + P(tie) / 2
  (the Mann-Whitney form); NaN without both classes."""
  scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
  pos, neg = scores[positive], scores[~positive]
  if not len(pos) or not len(neg):
    return float('nan')
  greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
  return float(greater / (len(pos) * len(neg)))


def cohen_kappa(a, b) -> float:
  """Returns Cohen's kappa of two raters' labels of the same items."""
  a, b = np.asarray(a), np.asarray(b)
  cats = np.union1d(a, b)
  observed = float(np.mean(a == b))
  expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in cats))
  return 1.0 if expected == 1.0 else (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts) -> float:
  """Returns Fleiss' kappa of counts (items, categories): how many raters put each item in each
  category (the same number of raters per item)."""
  counts = np.asarray(counts, float)
  n = counts.sum(axis=1)[0]
  p_cat = counts.sum(axis=0) / counts.sum()
  p_item = ((counts ** 2).sum(axis=1) - n) / (n * (n - 1))
  p_bar, p_e = p_item.mean(), float((p_cat ** 2).sum())
  return 1.0 if p_e == 1.0 else float((p_bar - p_e) / (1.0 - p_e))


def _signed(a: dict) -> np.ndarray:
  return np.where(a['said_synthetic'] == 1, 1, -1) * a['confidence']


def _share(hits) -> float:
  hits = np.asarray(hits)
  return float(hits.mean()) if hits.size else float('nan')


def summary(a: dict) -> dict:
  """Returns the figures of one set of answers (a dict of FIELDS arrays)."""
  syn, said = a['synthetic'] == 1, a['said_synthetic'] == 1
  correct = syn == said
  n, k = int(correct.size), int(correct.sum())
  named = a['said_label'] == a['label']
  return {'n': n, 'n_real': int((~syn).sum()), 'n_synthetic': int(syn.sum()),
          'accuracy': _share(correct),
          'binomial_p': float(scipy.stats.binomtest(k, n, 0.5).pvalue) if n else float('nan'),
          'sensitivity': _share(said[syn]), 'specificity': _share(~said[~syn]),
          'auc': auc(_signed(a), syn),
          'class_accuracy_real': _share(named[~syn]),
          'class_accuracy_synthetic': _share(named[syn])}


def image_sign_test(a: dict) -> float:
  """Returns the two-sided p of a sign test over images: each image counts once, as correct when
  most of its answers were right and wrong when most were not (ties left out), against chance.
  With one reader it is that reader's binomial test; readers who repeat each other add nothing."""
  _, inverse = np.unique(a['item'], return_inverse=True)
  correct = (a['synthetic'] == a['said_synthetic']).astype(float)
  share = np.bincount(inverse, correct) / np.bincount(inverse)
  right, wrong = int((share > 0.5).sum()), int((share < 0.5).sum())
  return float(scipy.stats.binomtest(right, right + wrong, 0.5).pvalue) if right + wrong else 1.0


def _bootstrap(a: dict, n_boot: int, seed: int) -> dict:
  """Returns 95% percentile intervals of pooled accuracy, AUC and class accuracies, resampling
  images (each with all its readers' answers)."""
  items, inverse = np.unique(a['item'], return_inverse=True)
  by_item = [np.flatnonzero(inverse == i) for i in range(len(items))]
  rng = np.random.default_rng(seed)
  keys = ('accuracy', 'auc', 'class_accuracy_real', 'class_accuracy_synthetic')
  draws = {k: [] for k in keys}
  for _ in range(n_boot):
    rows = np.concatenate([by_item[i] for i in rng.integers(0, len(items), len(items))])
    s = summary({f: v[rows] for f, v in a.items()})
    for k in keys:
      draws[k].append(s[k])
  return {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))]
          for k, v in draws.items()}


def agreement(a: dict, num_classes: int) -> dict:
  """Returns Cohen's kappa per pair of readers and Fleiss' kappa over all of them, for the
  real/synthetic verdict and for the class, on the images every reader answered."""
  readers = sorted(set(a['reader'].tolist()))
  if len(readers) < 2:
    return {}
  shared = set.intersection(*(set(a['item'][a['reader'] == r].tolist()) for r in readers))
  items = sorted(shared)
  if not items:
    return {'items': 0}
  index = {key: i for i, key in enumerate(zip(a['reader'].tolist(), a['item'].tolist()))}
  rows = {r: np.array([index[(r, it)] for it in items]) for r in readers}
  out = {'items': len(items), 'cohen': {}, 'fleiss': {}}
  for field, cats in (('said_synthetic', 2), ('said_label', num_classes)):
    name = 'source' if field == 'said_synthetic' else 'class'
    values = {r: a[field][rows[r]] for r in readers}
    out['cohen'][name] = {f'{r1} / {r2}': cohen_kappa(values[r1], values[r2])
                          for r1, r2 in itertools.combinations(readers, 2)}
    stacked = np.stack([values[r] for r in readers]).astype(np.int64)   # (readers, items)
    counts = np.stack([np.bincount(col, minlength=cats) for col in stacked.T])
    out['fleiss'][name] = fleiss_kappa(counts)
  return out


def study_stats(answers: dict, classes, n_boot: int = 2000, seed: int = 0) -> dict:
  """Returns the study's statistics: per reader, pooled (with image-bootstrap intervals), the
  readers' agreement and the medigan-style row {readers, AUC, accuracy}."""
  a = {f: np.asarray(answers[f]) for f in FIELDS}
  readers = sorted(set(a['reader'].tolist()))
  per_reader = {r: summary({f: v[a['reader'] == r] for f, v in a.items()}) for r in readers}
  pooled = summary(a) if len(a['item']) else {}
  if pooled:
    del pooled['binomial_p']   # its answers are not independent: images are the units
    pooled['sign_test_p'] = image_sign_test(a)
    pooled['ci95'] = _bootstrap(a, n_boot, seed)
  return {'classes': list(classes), 'readers': readers, 'per_reader': per_reader,
          'pooled': pooled, 'agreement': agreement(a, len(classes)),
          'medigan': {'readers': len(readers), 'AUC': pooled.get('auc'),
                      'accuracy': pooled.get('accuracy')}}
