"""Does a generator copy its training ROIs? Nearest-training-ROI distances in pixel space.

The GANs train on classic variants of the training ROIs (rotations, flips, shifts), so a copy may
come out flipped, turned or moved. :func:`nearest_distances` therefore takes, for each query image,
the smallest RMS pixel difference to any training ROI under any of the 8 flips / 90-degree
rotations and any integer shift up to ``max_shift`` pixels, compared over the central window that
every shift keeps. :func:`memorisation` sets the synthetic images' distances beside the real test
ROIs' (which share no patient with the training ROIs): a synthetic image closer to a training ROI
than the 5th percentile of test-to-training distances is nearer than 95% of genuinely new lesions
are, and a perfect generator has 5% of its images there. :func:`nn_ratio_copies` is a second
rule, per image: a copy is far nearer one training ROI than any other (ratio of the two nearest
distances below 1/3), and :func:`copy_rate_test` compares the synthetic images' rate of such
copies with fresh real ROIs'.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats


def dihedral(image: jax.Array) -> jax.Array:
  """Returns the 8 flips / 90-degree rotations (8, H, W) of a square image (H, W)."""
  turns = [jnp.rot90(image, k) for k in range(4)]
  return jnp.stack(turns + [t[:, ::-1] for t in turns])


def _windows(image: jax.Array, max_shift: int) -> jax.Array:
  """Returns (8 * (2 s + 1)^2, (H - 2 s)^2) flattened central windows of the image's dihedral
  variants, shifted by every (dy, dx) in [-s, s]^2."""
  h, s = image.shape[0], max_shift
  w = h - 2 * s
  grid = jnp.arange(2 * s + 1)
  starts = jnp.stack(jnp.meshgrid(grid, grid, indexing='ij'), -1).reshape(-1, 2)
  window = lambda v, o: jax.lax.dynamic_slice(v, (o[0], o[1]), (w, w)).reshape(-1)
  per_variant = jax.vmap(lambda v: jax.vmap(lambda o: window(v, o))(starts))
  return per_variant(dihedral(image)).reshape(-1, w * w)


@functools.partial(jax.jit, static_argnames=('max_shift',))
def distance_matrix(queries: jax.Array, train: jax.Array, max_shift: int = 4) -> jax.Array:
  """Returns (N, T): the RMS pixel difference between each query's central window and the
  best-matching window of any flip / rotation / shift (up to max_shift px) of each training
  image. queries (N, H, W[, 1]), train (T, H, W[, 1])."""
  q = queries.reshape(queries.shape[:3])
  h, s = q.shape[1], max_shift
  qw = q[:, s:h - s, s:h - s].reshape(q.shape[0], -1)
  q_sq = jnp.sum(qw * qw, -1)

  def one(t):
    v = _windows(t, s)                                   # (V, P)
    d2 = q_sq[:, None] + jnp.sum(v * v, -1)[None] - 2.0 * qw @ v.T
    return jnp.min(d2, axis=1)                           # (N,)

  best = jax.lax.map(one, train.reshape(train.shape[:3]))   # (T, N)
  return jnp.sqrt(jnp.maximum(best.T, 0.0) / qw.shape[1])


def nearest_distances(queries: jax.Array, train: jax.Array, max_shift: int = 4
                      ) -> tuple[jax.Array, jax.Array]:
  """Returns (distance, index) of each query's nearest training image by
  :func:`distance_matrix`."""
  d = distance_matrix(queries, train, max_shift)
  return d.min(1), jnp.argmin(d, 1)


def nn_ratio_copies(distances, ratio: float = 1 / 3) -> np.ndarray:
  """Returns, per query, whether it is a copy by the nearest-neighbour ratio rule: its distance
  to the nearest training ROI below `ratio` times its distance to the second nearest (a query
  far closer to one training ROI than to any other). distances (N, T), T >= 2 distinct ROIs."""
  d = np.sort(np.asarray(distances, np.float64), axis=1)
  if d.shape[1] < 2:
    raise ValueError('the ratio rule needs at least 2 training ROIs')
  return d[:, 0] < ratio * d[:, 1]


def copy_rate_test(synthetic_copies, real_copies, counts=None) -> dict:
  """Returns the synthetic and real copy rates, their counts and the one-sided p-value of
  Fisher's exact test (the exact binomial comparison of two rates) that the synthetic rate
  exceeds the real one; from boolean arrays, or from counts ((k_s, k_r), (n_s, n_r))."""
  if counts is None:
    counts = ((int(np.sum(synthetic_copies)), int(np.sum(real_copies))),
              (len(synthetic_copies), len(real_copies)))
  (k_s, k_r), (n_s, n_r) = counts
  p = stats.fisher_exact([[k_s, n_s - k_s], [k_r, n_r - k_r]], alternative='greater')[1]
  return {'synthetic': k_s / n_s, 'real': k_r / n_r, 'copies': [k_s, k_r], 'n': [n_s, n_r],
          'p_greater': float(p)}


def memorisation(synthetic, test, train, max_shift: int = 4) -> dict:
  """Returns the synthetic images' nearest-training distances beside the real test ROIs', and the
  share of synthetic images closer than the 5th percentile of the test ROIs' (5% for a generator
  that draws new lesions as the data does; 100% for one that copies)."""
  train = jnp.asarray(train, jnp.float32)
  d_syn, idx = nearest_distances(jnp.asarray(synthetic, jnp.float32), train, max_shift)
  d_test, _ = nearest_distances(jnp.asarray(test, jnp.float32), train, max_shift)
  d_syn, d_test = np.asarray(d_syn), np.asarray(d_test)
  threshold = float(np.percentile(d_test, 5))
  return {'synthetic_distance': d_syn.tolist(), 'nearest_train': np.asarray(idx).tolist(),
          'test_distance': d_test.tolist(), 'threshold_p5': threshold,
          'share_below_p5': float(np.mean(d_syn < threshold)), 'share_expected': 0.05}
