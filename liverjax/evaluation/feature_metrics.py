"""Distances between a synthetic and a real sample of feature vectors, in JAX on the device.

- :func:`frechet_distance`: the Frechet distance of the two samples' Gaussian fits (Heusel et al.
  2017), ``|m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)`` with symmetric square roots
  (``eigh``). Biased at small n: two samples of one distribution score above 0.
- :func:`kernel_inception_distance`: the unbiased MMD^2 with the cubic polynomial kernel
  ``(x.y / d + 1)^3`` (Binkowski et al. 2018), mean and spread over random subsets; near 0 for one
  distribution at any n, so the one to trust on small sets.
- :func:`prdc`: precision, recall, density and coverage (Naeem et al. 2020) from k-th nearest
  neighbour balls, as the ``prdc`` package computes them.

Feature vectors come as (N, D) arrays; pairwise distances are computed in row blocks, so 10,000 x
10,000 comparisons fit in memory. Everything is deterministic for a key.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

BLOCK = 1024


def _pad_rows(x: jax.Array, block: int) -> jax.Array:
  rows = -(-x.shape[0] // block) * block
  return jnp.concatenate([x, jnp.zeros((rows - x.shape[0],) + x.shape[1:], x.dtype)])


@functools.partial(jax.jit, static_argnames=('block',))
def pairwise_distances(x: jax.Array, y: jax.Array, block: int = BLOCK) -> jax.Array:
  """Returns the (N, M) Euclidean distances between the rows of x (N, D) and y (M, D), computed
  in blocks of rows of x."""
  n = x.shape[0]
  b = min(block, n)
  y_sq = jnp.sum(y * y, -1)

  def rows(xb):
    d2 = jnp.sum(xb * xb, -1)[:, None] + y_sq[None] - 2.0 * xb @ y.T
    return jnp.sqrt(jnp.maximum(d2, 0.0))

  out = jax.lax.map(rows, _pad_rows(x, b).reshape(-1, b, x.shape[1]))
  return out.reshape(-1, y.shape[0])[:n]


def _sqrt_psd(m: jax.Array) -> jax.Array:
  """Returns the symmetric square root of a symmetric positive semi-definite matrix."""
  w, v = jnp.linalg.eigh((m + m.T) / 2)
  return (v * jnp.sqrt(jnp.maximum(w, 0.0))) @ v.T


@jax.jit
def frechet_distance(x: jax.Array, y: jax.Array) -> jax.Array:
  """Returns the Frechet distance between Gaussian fits of samples x (N, D) and y (M, D)."""
  mx, my = x.mean(0), y.mean(0)
  sx, sy = jnp.cov(x, rowvar=False), jnp.cov(y, rowvar=False)
  root = _sqrt_psd(sx)
  cross = jnp.linalg.eigvalsh(root @ sy @ root)
  return (jnp.sum((mx - my) ** 2) + jnp.trace(sx) + jnp.trace(sy)
          - 2.0 * jnp.sum(jnp.sqrt(jnp.maximum(cross, 0.0))))


def _mmd2_unbiased(x: jax.Array, y: jax.Array) -> jax.Array:
  d = x.shape[1]
  kernel = lambda a, b: (a @ b.T / d + 1.0) ** 3
  m, n = x.shape[0], y.shape[0]
  kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
  within = lambda k, size: (k.sum() - jnp.trace(k)) / (size * (size - 1))   # i != j only
  return within(kxx, m) + within(kyy, n) - 2.0 * kxy.mean()


@functools.partial(jax.jit, static_argnames=('subsets', 'subset_size'))
def _kid_subsets(key, x, y, subsets: int, subset_size: int) -> jax.Array:
  def one(k):
    kx, ky = jax.random.split(k)
    ix = jax.random.choice(kx, x.shape[0], (subset_size,), replace=False)
    iy = jax.random.choice(ky, y.shape[0], (subset_size,), replace=False)
    return _mmd2_unbiased(x[ix], y[iy])
  return jax.lax.map(one, jax.random.split(key, subsets))


def kernel_inception_distance(x, y, key: jax.Array, subsets: int = 20,
                              subset_size: int | None = None) -> dict:
  """Returns {'mean', 'std', 'subsets', 'subset_size'} of the unbiased MMD^2 (cubic polynomial
  kernel) between x (N, D) and y (M, D) over random subsets drawn without replacement (default
  size: min(N, M))."""
  size = int(subset_size or min(len(x), len(y)))
  values = np.asarray(_kid_subsets(key, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                                   subsets, size))
  return {'mean': float(values.mean()), 'std': float(values.std()), 'subsets': subsets,
          'subset_size': size}


def _kth_neighbour_radii(x: jax.Array, k: int) -> jax.Array:
  """Returns each row's distance to its k-th nearest other row (itself excluded)."""
  d = pairwise_distances(x, x)
  return jnp.sort(d, axis=1)[:, k]   # column 0 is the row itself (distance 0)


def prdc(real, fake, k: int = 5) -> dict:
  """Returns {'precision', 'recall', 'density', 'coverage'} of fake (M, D) against real (N, D):
  precision, the share of fake samples inside some real sample's k-NN ball; recall, the share of
  real samples inside some fake sample's k-NN ball; density, the mean number of real balls that
  hold a fake sample, over k; coverage, the share of real balls that hold a fake sample."""
  real, fake = jnp.asarray(real, jnp.float32), jnp.asarray(fake, jnp.float32)
  r_real, r_fake = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
  d = pairwise_distances(real, fake)                  # (N, M)
  inside_real = d < r_real[:, None]                   # fake j in real i's ball
  return {'precision': float(inside_real.any(0).mean()),
          'recall': float((d < r_fake[None, :]).any(1).mean()),
          'density': float(inside_real.sum(0).mean() / k),
          'coverage': float((d.min(1) < r_real).mean())}
