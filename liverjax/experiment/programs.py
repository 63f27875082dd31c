"""The jitted programs of the classifier experiment, built once (as big_vision's update_fn and
predict_fn) and shared by every run: an epoch, an epoch of stacked folds, prediction, the
training-set builders."""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp

from liverjax import augment
from liverjax.base import mesh as mesh_lib
from liverjax.steps import classifier, epochs


@dataclasses.dataclass(frozen=True)
class Programs:
  """Jitted functions; each compiles once per input shape."""
  epoch: Callable           # (state, set, n, key, online: static) -> (state, metrics); donates
  epoch_folds: Callable     # the same over stacked folds (config.train.vmap_folds)
  stack: Callable           # [tree, ...] -> tree stacked on a new leading axis (replicated)
  fold_state: Callable      # (stacked state, i: static) -> the i-th state
  mean_image: Callable      # (images, n) -> the mean of the first n images
  predict: Callable         # (state, images) -> logits
  predict_features: Callable  # (state, images) -> (logits, penultimate features)
  classic_augment: Callable   # (key, images, labels, diameter_px, n, size: static) -> set
  mix_synthetic: Callable     # augment.mix_synthetic with per_class static


def build(config, model, tx, mesh) -> Programs:
  """Returns the experiment's jitted programs for the classifier `model` and optimizer `tx`."""
  batch_sharding = mesh_lib.batch_sharded(mesh)
  online = (lambda k, x, d: augment.random_variant(
      k, x, d, tuple(config.augment.scale_range), config.augment.shift_cap_px)
            ) if config.classic.online else None
  step_fn = functools.partial(classifier.train_step, model=model, tx=tx)
  # Training sets come with their number of examples n (traced): a fold's real ROIs are padded
  # to whole batches (padding.pad_rows), so folds of similar size share one compilation.
  epoch = lambda s, d, n, k, aug: epochs.train_epoch(
      s, d, k, step_fn=step_fn, batch_size=config.train.batch_size,
      batch_sharding=batch_sharding, augment_fn=online if aug else None, n=n)
  replicated = mesh_lib.replicated(mesh)
  return Programs(
      epoch=jax.jit(epoch, static_argnums=4, donate_argnums=0),
      epoch_folds=jax.jit(
          lambda s, d, n, k, aug: jax.vmap(functools.partial(epoch, aug=aug))(s, d, n, k),
          static_argnums=4, donate_argnums=0),
      stack=jax.jit(lambda trees: jax.tree.map(lambda *a: jnp.stack(a), *trees),
                    out_shardings=replicated),
      fold_state=jax.jit(lambda s, i: jax.tree.map(lambda a: a[i], s), static_argnums=1,
                         out_shardings=replicated),
      mean_image=jax.jit(lambda x, n: jnp.sum(
          jnp.where((jnp.arange(x.shape[0]) < n)[:, None, None, None], x, 0.0), 0) / n),
      predict=jax.jit(lambda s, x: classifier.predict(
          s, x, model=model, batch_size=config.train.batch_size, batch_sharding=batch_sharding)),
      predict_features=jax.jit(lambda s, x: classifier.predict(
          s, x, model=model, batch_size=config.train.batch_size, batch_sharding=batch_sharding,
          return_features=True)),
      classic_augment=jax.jit(
          lambda k, x, y, d, n, size: augment.classic_augment(
              k, x, y, d, size, tuple(config.augment.scale_range), config.augment.shift_cap_px,
              n=n), static_argnums=5),
      mix_synthetic=jax.jit(augment.mix_synthetic, static_argnums=5))
