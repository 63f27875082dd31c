"""The classifier's training step and prediction, as pure functions of a pytree state.

The train state is a pytree (:class:`TrainState`); a step is the pure function
``train_step(state, batch, key, *, model, tx) -> (state, metrics)``. Dropout randomness comes from
``fold_in(key, state.step)``, so a step is a function of the state and the run's key alone and a run
resumed from a checkpoint replays exactly. Whole epochs of it run under ``lax.scan``
(:mod:`liverjax.steps.epochs`).
"""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
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

