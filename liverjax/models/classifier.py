"""The paper's lesion classifier as a Flax module (used as a pure function).

``model.apply(variables, x, train=..., rngs=...)``. The classifier keeps the training-set mean
image in a non-trained variable collection, ``input_stats``, so the preprocessing travels with the
checkpoint.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax.models import layers


class Classifier(nn.Module):
  """The paper's CNN: 3 x (conv + ReLU + 2x2 max-pool), dense + ReLU, dropout, dense logits.

  Returns logits (N, num_classes); with ``return_features=True`` also the penultimate (dense)
  activations, for t-SNE and feature-space metrics. Filter counts, kernel size and the dense width
  are not in the paper's text (its Fig. 2), so they are config; the defaults are 32/64/128, 3x3, 500.
  Convolutions are :class:`liverjax.models.layers.Conv` (same parameters and function as ``nn.Conv``),
  pooling :func:`liverjax.models.layers.max_pool_2x2` (same function as ``nn.max_pool``).

  input_grad=False (what training uses) treats the images as data: no gradient w.r.t. them, and a
  faster first convolution for one-channel images. Keep the default True for gradients w.r.t. the
  images (saliency maps); the variables are the same.

  matmul_dtype (every module here): None, float32 as in the paper, or ``jnp.bfloat16``: the
  convolutions' matmuls in mixed precision (:func:`liverjax.models.conv_ops.matmul`). Variables, batch
  norm, activations and dense layers stay float32, and so does the classifier's first layer
  (one-channel data: no matmul). :func:`liverjax.experiment.builders.matmul_dtype` maps
  ``config.*.matmul_dtype`` to it.
  """
  num_classes: int
  features: Sequence[int] = (32, 64, 128)
  kernel_size: int = 3
  dense: int = 500
  dropout: float = 0.5
  input_grad: bool = True
  matmul_dtype: Any = None
  conv_impl: str = 'patches'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False, return_features: bool = False):
    mean = self.variable('input_stats', 'mean', jnp.zeros, x.shape[1:], jnp.float32)
    x = x - mean.value
    for i, width in enumerate(self.features):
      x = layers.Conv(width, self.kernel_size, input_grad=self.input_grad or i > 0,
                      matmul_dtype=self.matmul_dtype, impl=self.conv_impl)(x)
      x = nn.relu(layers.max_pool_2x2(x))   # = pool(relu(x)); ReLU on 1/4 of the values
    x = x.reshape((x.shape[0], -1))
    feats = nn.relu(nn.Dense(self.dense)(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(feats)
    logits = nn.Dense(self.num_classes)(x)
    return (logits, feats) if return_features else logits
