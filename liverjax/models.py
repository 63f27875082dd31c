"""Flax modules of the paper: the lesion classifier (GANs follow in their own issue).

Modules are used as pure functions: ``model.apply(variables, x, train=..., rngs=...)``. The
classifier keeps the training-set mean image in a non-trained variable collection,
``input_stats``, so the preprocessing travels with the checkpoint.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax import layers


class Classifier(nn.Module):
  """The paper's CNN: 3 x (conv + ReLU + 2x2 max-pool), dense + ReLU, dropout, dense logits.

  Returns logits (N, num_classes); with ``return_features=True`` also the penultimate (dense)
  activations, for t-SNE and feature-space metrics. Filter counts, kernel size and the dense width
  are not in the paper's text (its Fig. 2), so they are config; the defaults are 32/64/128, 3x3, 500.
  Convolutions are :class:`liverjax.layers.Conv` (same parameters and function as ``nn.Conv``).
  """
  num_classes: int
  features: Sequence[int] = (32, 64, 128)
  kernel_size: int = 3
  dense: int = 500
  dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False, return_features: bool = False):
    mean = self.variable('input_stats', 'mean', jnp.zeros, x.shape[1:], jnp.float32)
    x = x - mean.value
    for width in self.features:
      x = layers.Conv(width, self.kernel_size)(x)
      x = nn.relu(x)
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape((x.shape[0], -1))
    feats = nn.relu(nn.Dense(self.dense)(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(feats)
    logits = nn.Dense(self.num_classes)(x)
    return (logits, feats) if return_features else logits
