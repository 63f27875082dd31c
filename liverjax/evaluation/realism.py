"""How CT-like is a texture? Statistics of parenchyma patches, and a classifier that tells two
sets of patches apart.

:func:`texture_stats` summarises windowed patches (N, k, k) in [0, 1]: the mean level and its
spread across patches, the noise (SD of horizontal neighbour differences / sqrt 2), the horizontal
autocorrelation at lags 1, 2, 3 and 5 px (each patch less its mean; over every patch), and the
share of saturated pixels (at 0 or 1 after the window). :func:`compare` puts two sets side by
side and adds the ROC AUC of a classifier two-sample test on the raw patches
(:func:`liverjax.evaluation.c2st.c2st`): 0.5 when the textures are indistinguishable.
"""

from __future__ import annotations

import numpy as np

from liverjax.evaluation import c2st as c2st_lib

LAGS = (1, 2, 3, 5)


def texture_stats(patches) -> dict:
  """Returns the texture statistics of patches (N, k, k) in [0, 1]."""
  p = np.asarray(patches, np.float64)
  if p.ndim != 3 or p.shape[2] <= max(LAGS):
    raise ValueError(f'texture_stats needs (N, k, k) patches with k > {max(LAGS)}, got {p.shape}')
  means = p.mean((1, 2))
  centred = p - means[:, None, None]
  var = np.mean(centred ** 2)
  acf = {str(lag): float(np.mean(centred[:, :, lag:] * centred[:, :, :-lag]) / var)
         for lag in LAGS}
  return {'n': len(p), 'mean': float(means.mean()), 'mean_sd': float(means.std()),
          'noise_sd': float(np.diff(p, axis=2).std() / np.sqrt(2)), 'autocorrelation': acf,
          'saturated': float(np.mean((p <= 0.0) | (p >= 1.0)))}


def compare(real, other, real_groups=None, seed: int = 0) -> dict:
  """Returns {'real': stats, 'other': stats, 'c2st': ...}: the two sets' texture statistics and
  how well a small classifier tells `other` patches from `real` ones (grouped by real_groups)."""
  real, other = np.asarray(real, np.float32), np.asarray(other, np.float32)
  test = c2st_lib.c2st(real.reshape(len(real), -1), other.reshape(len(other), -1), real_groups,
                       seed=seed)
  return {'real': texture_stats(real), 'other': texture_stats(other),
          'c2st': {k: test[k] for k in ('auc', 'ci95', 'n_real', 'n_synthetic', 'folds')}}
