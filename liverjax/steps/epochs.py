"""Whole epochs of a pure step function under ``lax.scan``, on a device-resident training set.

``train_epoch`` shuffles the training set with a key folded from the step count, cuts it into
fixed-size batches (the last one topped up with random extra examples, so every epoch has the same
static shape and compiles once) and scans a step function over them (the classifier's
:func:`liverjax.steps.classifier.train_step`, or the GANs' :func:`liverjax.steps.gan.train_step`);
each batch is sharded over the mesh's 'data' axis. A set padded to whole batches
(:func:`liverjax.base.padding.pad_rows`) goes in with its number of examples ``n`` as a traced
value, so sets of different sizes that need the same number of batches share one compilation.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding

from liverjax.base.padding import valid_first


def epoch_indices(key: jax.Array, n, batch_size: int, rows: int | None = None) -> jax.Array:
  """Returns (steps, batch_size) example indices: a permutation of range(n), topped up with random
  indices below n. n may be traced if `rows` (static, >= n) is given: steps = ceil(rows /
  batch_size), so padding a set of n examples to a multiple of the batch size keeps its epoch."""
  rows = n if rows is None else rows
  steps = -(-rows // batch_size)
  k_perm, k_extra = jax.random.split(key)
  perm = valid_first(k_perm, n, steps * batch_size)
  extra = jax.random.randint(k_extra, (steps * batch_size,), 0, n)
  return jnp.where(jnp.arange(steps * batch_size) < n, perm, extra).reshape(steps, batch_size)


def schedule(n: int, batch_size: int, epochs: int, max_steps: int = 0) -> tuple[int, int]:
  """Returns (epochs, steps per epoch) for n examples: `epochs`, capped so that training takes at
  most max_steps steps (0 = no cap), but always at least one epoch."""
  steps = -(-n // batch_size)
  if max_steps:
    epochs = max(1, min(epochs, max_steps // steps))
  return epochs, steps


def train_epoch(state, data: dict, key: jax.Array, *, step_fn: Callable, batch_size: int,
                batch_sharding: NamedSharding | None = None,
                augment_fn: Callable | None = None, n=None) -> tuple[Any, dict]:
  """Returns (state, mean metrics) after one pass of step_fn over data {'image', 'label', ...}.

  `n` (may be traced): only the first n rows are examples, the rest padding (:func:`pad_rows`);
  default all rows.

  `step_fn(state, batch, key) -> (state, metrics)` is a pure step (e.g. :func:`train_step` with
  model and tx bound, or a GAN step); `state.step` counts steps. The shuffle key folds in the step
  count, so an epoch is a function of (state, data, key). `augment_fn(key, images, diameter_px)
  -> images`, if given, is applied to every batch (the cheap on-the-fly variant). Jit with the
  keyword arguments bound.
  """
  epoch_key = jax.random.fold_in(jax.random.fold_in(key, 0x5EED), state.step)
  rows = data['image'].shape[0]
  idx = epoch_indices(epoch_key, rows if n is None else n, batch_size, rows)

  def body(state, idx_b):
    batch = {name: array[idx_b] for name, array in data.items()}
    if augment_fn is not None:
      aug_key = jax.random.fold_in(jax.random.fold_in(key, 0xA06), state.step)
      batch['image'] = augment_fn(aug_key, batch['image'], batch['diameter_px'])
    if batch_sharding is not None:
      batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    return step_fn(state, batch, key)

  state, metrics = jax.lax.scan(body, state, idx)
  return state, jax.tree.map(jnp.mean, metrics)
