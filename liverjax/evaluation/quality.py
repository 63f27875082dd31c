"""How good are one class's synthetic images? Every figure beside its real reference.

:func:`class_quality` compares a synthetic sample of one class with the real training ROIs of
that class (what the generator learned from), in a feature space and in pixels, and computes the
same figure for the real test ROIs of that class (new patients: what a perfect generator would
score at this sample size). Every synthetic figure is computed on subsets of the synthetic
sample of the test ROIs' size (default 20 subsets; mean and spread), so it compares like with
like with its reference:

- ``fd``: Frechet distance to the training features (biased at small n: read it beside its
  reference, never against 0).
- ``kid``: unbiased MMD^2, cubic polynomial kernel: near 0 for one distribution at any n.
- ``precision``, ``recall``, ``density``, ``coverage`` (k = 5) against the training features.
- ``memorisation``: the share of images closer to a training ROI (pixels, minimum over flips,
  90-degree turns and shifts up to 4 px) than the 5th percentile of the test ROIs' distances
  (5% for a generator that draws new lesions as the data does), and the same in features;
  ``nn_ratio``: the share of copies by the nearest-neighbour ratio rule (nearest training ROI
  under 1/3 of the second nearest's distance), beside the test ROIs' share, with the one-sided
  p-value that the synthetic share is higher.
- ``c2st``: ROC AUC of telling the synthetic features (up to 3x the test ROIs' count) from the
  real test ROIs' (held out from the feature network's training too), 0.5 = indistinguishable,
  with its interval over folds; the reference tells the training ROIs from the test ROIs.

A synthetic figure *better* than its reference (closer to the training set than new real lesions
are) means copying in a space learned from that training set, not quality beyond real data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.evaluation import c2st as c2st_lib
from liverjax.evaluation import feature_metrics, memorisation

PRDC = ('precision', 'recall', 'density', 'coverage')
K = 5


def _distances(queries, train) -> np.ndarray:
  return np.asarray(feature_metrics.pairwise_distances(
      jnp.asarray(queries, jnp.float32), jnp.asarray(train, jnp.float32)))


def _nearest(queries, train) -> np.ndarray:
  return _distances(queries, train).min(1)


def _stats(values) -> dict:
  values = np.asarray(values, np.float64)
  return {'mean': float(values.mean()), 'std': float(values.std())}


def real_reference(train_f, test_f, train_px, test_px, key: jax.Array, test_groups=None,
                   max_shift: int = 4) -> dict:
  """Returns one class's real reference: the figures of its real test ROIs against its real
  training ROIs (what a perfect generator would score at this sample size), and the test ROIs'
  nearest-training distances that the memorisation share is measured against. Computed once per
  fold and class, shared by every pool."""
  train_f, test_f = np.asarray(train_f, np.float32), np.asarray(test_f, np.float32)
  n_test = len(test_f)
  if n_test <= K:
    raise ValueError(f'a real reference needs more than {K} test ROIs (got {n_test})')
  d_px = np.asarray(memorisation.distance_matrix(jnp.asarray(test_px, jnp.float32),
                                                 jnp.asarray(train_px, jnp.float32), max_shift))
  ref = {'fd': float(feature_metrics.frechet_distance(train_f, test_f)),
         'kid': feature_metrics.kernel_inception_distance(
             train_f, test_f, key, subset_size=min(n_test, len(train_f)))['mean'],
         **feature_metrics.prdc(train_f, test_f, K),
         'c2st': c2st_lib.c2st(test_f, train_f, test_groups),
         'p5_pixels': float(np.percentile(d_px.min(1), 5)),
         'p5_features': float(np.percentile(_nearest(test_f, train_f), 5)),
         'copies_pixels': memorisation.nn_ratio_copies(d_px).tolist(),
         'copies_features': memorisation.nn_ratio_copies(_distances(test_f, train_f)).tolist()}
  return ref


def class_quality(train_f, test_f, syn_f, train_px, test_px, syn_px, key: jax.Array,
                  test_groups=None, subsets: int = 20, max_shift: int = 4,
                  reference: dict | None = None) -> dict:
  """Returns {metric: {'synthetic': {'mean', 'std'} (or a value), 'real': reference}} for one
  class: train_f / test_f / syn_f (N, D) features of the real training ROIs, the real test ROIs
  and the synthetic images; *_px the same images (N, H, W[, 1]). Needs more than K test ROIs and
  at least as many synthetic images as test ROIs. `reference`: :func:`real_reference` of the
  same arrays, if already computed (it is the same for every pool of a fold and class)."""
  n_test, n_syn = len(test_f), len(syn_f)
  if n_test <= K or n_syn < n_test:
    raise ValueError(f'class_quality needs more than {K} test ROIs and at least as many '
                     f'synthetic images ({n_test} test, {n_syn} synthetic)')
  train_f, test_f, syn_f = (np.asarray(a, np.float32) for a in (train_f, test_f, syn_f))
  k_sub, k_kid, k_ref, k_c2st = jax.random.split(key, 4)
  ref = reference or real_reference(train_f, test_f, train_px, test_px, k_ref, test_groups,
                                    max_shift)
  picks = [np.asarray(jax.random.choice(k, n_syn, (n_test,), replace=False))
           for k in jax.random.split(k_sub, subsets)]
  out = {'n': {'train': len(train_f), 'test': n_test, 'synthetic': n_syn, 'subsets': subsets}}
  out['fd'] = {'synthetic': _stats([feature_metrics.frechet_distance(train_f, syn_f[p])
                                    for p in picks]), 'real': ref['fd']}
  kids = [feature_metrics.kernel_inception_distance(
      train_f, syn_f[p], jax.random.fold_in(k_kid, i), subset_size=min(n_test, len(train_f))
  )['mean'] for i, p in enumerate(picks)]
  out['kid'] = {'synthetic': _stats(kids), 'real': ref['kid']}
  syn_prdc = [feature_metrics.prdc(train_f, syn_f[p], K) for p in picks]
  for m in PRDC:
    out[m] = {'synthetic': _stats([d[m] for d in syn_prdc]), 'real': ref[m]}
  m_px = np.asarray(memorisation.distance_matrix(jnp.asarray(syn_px, jnp.float32),
                                                 jnp.asarray(train_px, jnp.float32), max_shift))
  m_f = _distances(syn_f, train_f)
  d_px, nearest = m_px.min(1), m_px.argmin(1)
  order = np.argsort(d_px)[:4]
  out['memorisation'] = {
      'pixels': {'synthetic': float(np.mean(d_px < ref['p5_pixels'])), 'real': 0.05},
      'features': {'synthetic': float(np.mean(m_f.min(1) < ref['p5_features'])), 'real': 0.05},
      'closest': order.tolist(), 'closest_train': nearest[order].tolist(),
      'closest_distance': d_px[order].tolist(),
      'nn_ratio': {space: memorisation.copy_rate_test(memorisation.nn_ratio_copies(m),
                                                      ref[f'copies_{space}'])
                   for space, m in (('pixels', m_px), ('features', m_f))}}
  # C2ST on up to 3x the test ROIs' count of synthetic images: more power than a matched
  # subset, and AUC does not depend on the classes' proportions
  few = np.asarray(jax.random.permutation(k_c2st, n_syn))[:3 * n_test]
  syn_c2st = c2st_lib.c2st(test_f, syn_f[few], test_groups)
  out['c2st'] = {'synthetic': {k: syn_c2st.get(k) for k in ('auc', 'ci95', 'n_synthetic', 'roc',
                                                            'why') if k in syn_c2st},
                 'real': {k: ref['c2st'].get(k) for k in ('auc', 'ci95', 'roc', 'why')
                          if k in ref['c2st']}}
  return out
