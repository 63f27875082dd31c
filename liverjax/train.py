"""Classifier training: pure, jitted steps and whole epochs under ``lax.scan``.

The train state is a pytree (:class:`TrainState`); a step is the pure function
``train_step(state, batch, key, *, model, tx) -> (state, metrics)``. Dropout randomness comes from
``fold_in(key, state.step)``, so a step is a function of the state and the run's key alone and a run
resumed from a checkpoint replays exactly. ``train_epoch`` shuffles the device-resident training
set with a key folded from the step count, cuts it into fixed-size batches (the last one topped up
with random extra examples, so every epoch has the same static shape and compiles once) and scans
a step function over them (the classifier's ``train_step`` here, the GANs' in
:mod:`liverjax.gan`); each batch is sharded over the mesh's 'data' axis. A set padded to whole
batches (:func:`pad_rows`) goes in with its number of examples ``n`` as a traced value, so sets
of different sizes that need the same number of batches share one compilation.
"""

from __future__ import annotations

from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding


@flax.struct.dataclass
class TrainState:
  """Everything a training run carries from step to step."""
  step: jax.Array
  params: Any
  model_state: Any        # non-trained variable collections (input_stats, batch_stats)
  opt_state: Any


def make_optimizer(learning_rate: float = 1e-3, momentum: float = 0.9,
                   nesterov: bool = True) -> optax.GradientTransformation:
  """Returns the paper's optimizer: SGD with Nesterov momentum."""
  return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)


def init_state(model: nn.Module, tx: optax.GradientTransformation, key: jax.Array,
               mean_image: jax.Array) -> TrainState:
  """Returns a fresh TrainState whose input_stats hold the training-set mean image (H, W, C)."""
  variables = model.init(key, jnp.zeros((1,) + mean_image.shape, jnp.float32), train=False)
  params = variables.pop('params')
  model_state = dict(variables)
  model_state['input_stats'] = {'mean': jnp.asarray(mean_image, jnp.float32)}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                    opt_state=tx.init(params))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Returns the mean softmax cross-entropy of integer labels."""
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def train_step(state: TrainState, batch: dict, key: jax.Array, *, model: nn.Module,
               tx: optax.GradientTransformation) -> tuple[TrainState, dict]:
  """Returns (new state, {'loss', 'accuracy'}) after one SGD step on batch {'image', 'label'}."""
  dropout_key = jax.random.fold_in(key, state.step)

  def loss_fn(params):
    logits = model.apply({'params': params, **state.model_state}, batch['image'], train=True,
                         rngs={'dropout': dropout_key})
    return cross_entropy(logits, batch['label']), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  accuracy = jnp.mean(jnp.argmax(logits, -1) == batch['label'])
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state), {
      'loss': loss, 'accuracy': accuracy}


def valid_first(key: jax.Array, n, rows: int) -> jax.Array:
  """Returns (rows,) indices whose first n are a random permutation of range(n) (n may be traced,
  n <= rows static); the rest are the indices n..rows-1 in random order."""
  perm = jax.random.permutation(key, rows)
  return perm[jnp.argsort(perm >= n, stable=True)]


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


def pad_rows(data: dict, idx, batch_size: int) -> tuple[dict, int]:
  """Returns ({name: array[idx] padded to a multiple of batch_size rows}, len(idx)): the padding
  repeats idx[0] and is never drawn when the set goes to :func:`train_epoch` with ``n=len(idx)``.
  Sets of sizes that need the same number of batches get one shape (one compilation)."""
  idx = np.asarray(idx)
  rows = -(-len(idx) // batch_size) * batch_size
  padded = np.concatenate([idx, np.full(rows - len(idx), idx[0], idx.dtype)])
  return jax.tree.map(lambda a: a[jnp.asarray(padded)], data), len(idx)


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


def predict(state: TrainState, images: jax.Array, *, model: nn.Module, batch_size: int,
            batch_sharding: NamedSharding | None = None,
            return_features: bool = False):
  """Returns logits (N, K) (and penultimate features) of images in eval mode, in fixed batches."""
  n = images.shape[0]
  steps = -(-n // batch_size)
  padded = jnp.concatenate(
      [images, jnp.zeros((steps * batch_size - n,) + images.shape[1:], images.dtype)])
  variables = {'params': state.params, **state.model_state}

  def one(x):
    if batch_sharding is not None:
      x = jax.lax.with_sharding_constraint(x, batch_sharding)
    return model.apply(variables, x, train=False, return_features=True)

  logits, feats = jax.lax.map(one, padded.reshape((steps, batch_size) + images.shape[1:]))
  logits = logits.reshape(steps * batch_size, -1)[:n]
  feats = feats.reshape(steps * batch_size, -1)[:n]
  return (logits, feats) if return_features else logits

