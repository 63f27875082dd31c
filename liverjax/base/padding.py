"""Device-resident sets padded to whole batches: rows past ``n`` are padding, never drawn.

A set of ``n`` examples is padded to a multiple of the batch size (:func:`pad_rows`) and goes to
the jitted functions with ``n`` as a traced value, so sets whose sizes need the same number of
batches share one compilation; :func:`valid_first` draws from the first ``n`` rows only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def valid_first(key: jax.Array, n, rows: int) -> jax.Array:
  """Returns (rows,) indices whose first n are a random permutation of range(n) (n may be traced,
  n <= rows static); the rest are the indices n..rows-1 in random order."""
  perm = jax.random.permutation(key, rows)
  return perm[jnp.argsort(perm >= n, stable=True)]


def pad_rows(data: dict, idx, batch_size: int) -> tuple[dict, int]:
  """Returns ({name: array[idx] padded to a multiple of batch_size rows}, len(idx)): the padding
  repeats idx[0] and is never drawn when the set goes to
  :func:`liverjax.steps.epochs.train_epoch` with ``n=len(idx)``.
  Sets of sizes that need the same number of batches get one shape (one compilation)."""
  idx = np.asarray(idx)
  rows = -(-len(idx) // batch_size) * batch_size
  padded = np.concatenate([idx, np.full(rows - len(idx), idx[0], idx.dtype)])
  return jax.tree.map(lambda a: a[jnp.asarray(padded)], data), len(idx)
