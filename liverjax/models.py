"""Flax modules of the paper: the lesion classifier (GANs follow in their own issue).

Modules are used as pure functions: ``model.apply(variables, x, train=..., rngs=...)``. The
classifier keeps the training-set mean image in a non-trained variable collection,
``input_stats``, so the preprocessing travels with the checkpoint.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax import errors, layers

MATMUL_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}


def matmul_dtype(name: str, key: str = 'matmul_dtype'):
  """Returns the layers' ``matmul_dtype`` for a config value: None (plain float32) for
  'float32', ``jnp.bfloat16`` for 'bfloat16' (:func:`liverjax.layers.matmul`)."""
  if name not in MATMUL_DTYPES:
    raise errors.ConfigError(f'config.{key}={name!r}: expected one of {sorted(MATMUL_DTYPES)}')
  return MATMUL_DTYPES[name]


CONV_IMPLS = ('auto',) + layers.IMPLS


def conv_impl(name: str, matmul_dtype_name: str = 'float32', key: str = 'conv_impl') -> str:
  """Returns the layers' ``impl`` for a config value: 'patches' or 'xla' as given; 'auto' picks
  by backend (BACKEND_CONV_IMPL: measured per backend, README Benchmarks) and takes 'patches'
  wherever the matmuls are bfloat16 (the only form that has them)."""
  if name not in CONV_IMPLS:
    raise errors.ConfigError(f'config.{key}={name!r}: expected one of {list(CONV_IMPLS)}')
  low = matmul_dtype_name != 'float32'
  if name == 'auto':
    return 'patches' if low else BACKEND_CONV_IMPL.get(jax.default_backend(), 'patches')
  if name == 'xla' and low:
    raise errors.ConfigError(f"config.{key}='xla' runs float32 only: with matmul_dtype="
                             f"{matmul_dtype_name!r} use 'patches' (or 'auto')")
  return name


# 'auto' per jax.default_backend(); backends not listed (TPU: not measured) get 'patches'.
# cpu: XLA-CPU's own convolutions are far slower inside lax.scan (liverjax/layers.py; classifier
# step 11.5 s vs 0.24 s on a 2-core CPU). gpu (one H100, 2026-11-26, in scan): classifier
# 0.55 (xla) vs 0.58 ms (patches), a tie; paper DCGAN 13.7 vs 5.8 ms, so patches (README).
BACKEND_CONV_IMPL = {'cpu': 'patches', 'gpu': 'patches'}


class Classifier(nn.Module):
  """The paper's CNN: 3 x (conv + ReLU + 2x2 max-pool), dense + ReLU, dropout, dense logits.

  Returns logits (N, num_classes); with ``return_features=True`` also the penultimate (dense)
  activations, for t-SNE and feature-space metrics. Filter counts, kernel size and the dense width
  are not in the paper's text (its Fig. 2), so they are config; the defaults are 32/64/128, 3x3, 500.
  Convolutions are :class:`liverjax.layers.Conv` (same parameters and function as ``nn.Conv``),
  pooling :func:`liverjax.layers.max_pool_2x2` (same function as ``nn.max_pool``).

  input_grad=False (what training uses) treats the images as data: no gradient w.r.t. them, and a
  faster first convolution for one-channel images. Keep the default True for gradients w.r.t. the
  images (saliency maps); the variables are the same.

  matmul_dtype (every module here): None, float32 as in the paper, or ``jnp.bfloat16``: the
  convolutions' matmuls in mixed precision (:func:`liverjax.layers.matmul`). Variables, batch
  norm, activations and dense layers stay float32, and so does the classifier's first layer
  (one-channel data: no matmul). :func:`matmul_dtype` maps ``config.*.matmul_dtype`` to it.
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


DCGAN_INIT = nn.initializers.normal(0.02)


class DCGANGenerator(nn.Module):
  """Returns 64x64x1 images in [-1, 1] (tanh) from z (N, z_dim).

  Dense to 4x4xwidths[0], batch norm, ReLU, then len(widths) transposed 5x5 stride-2
  convolutions (widths[1:], then 1 channel) with batch norm and ReLU except the tanh output:
  4 -> 8 -> 16 -> 32 -> 64 for the paper's widths (1024, 512, 256, 128). Layers followed by batch
  norm have no bias (it would be cancelled by the normalisation; its gradient is zero and Adam
  would only amplify rounding noise). With num_classes > 0 the class enters as a one-hot vector
  concatenated to z (the ACGAN generator). bn_momentum is the batch norms' running-average
  momentum; ``gan.standing_stats`` clones the module with 0 to read a batch's exact statistics.
  """
  widths: Sequence[int] = (1024, 512, 256, 128)
  kernel_size: int = 5
  num_classes: int = 0
  bn_momentum: float = 0.9
  matmul_dtype: Any = None
  conv_impl: str = 'patches'

  @nn.compact
  def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
    if self.num_classes:
      z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], -1)
    bn = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                              epsilon=1e-5)
    x = nn.Dense(4 * 4 * self.widths[0], use_bias=False, kernel_init=DCGAN_INIT)(z)
    x = nn.relu(bn()(x.reshape(z.shape[0], 4, 4, self.widths[0])))
    for width in self.widths[1:]:
      x = layers.ConvTranspose(width, self.kernel_size, 2, use_bias=False,
                               kernel_init=DCGAN_INIT, matmul_dtype=self.matmul_dtype,
                               impl=self.conv_impl)(x)
      x = nn.relu(bn()(x))
    x = layers.ConvTranspose(1, self.kernel_size, 2, kernel_init=DCGAN_INIT,
                             matmul_dtype=self.matmul_dtype, impl=self.conv_impl)(x)
    return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
  """Returns real/fake logits (N,) of 64x64x1 images in [-1, 1].

  len(widths) strided 5x5 convolutions (64 -> 32 -> 16 -> 8 -> 4 for 4 layers), LeakyReLU 0.2,
  batch norm except after the first layer and at the output (no conv bias before batch norm),
  then a dense logit.
  """
  widths: Sequence[int] = (64, 128, 256, 512)
  kernel_size: int = 5
  matmul_dtype: Any = None
  conv_impl: str = 'patches'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    for i, width in enumerate(self.widths):
      x = layers.Conv(width, self.kernel_size, strides=2, use_bias=i == 0,
                      kernel_init=DCGAN_INIT, matmul_dtype=self.matmul_dtype,
                      impl=self.conv_impl)(x)
      if i > 0:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Dense(1, kernel_init=DCGAN_INIT)(x.reshape(x.shape[0], -1))[:, 0]


class ACGANDiscriminator(nn.Module):
  """Returns (real/fake logits (N,), class logits (N, K)) of 64x64x1 images in [-1, 1].

  3x3 convolutions, stride 2 on every other layer starting with the first (64 -> 32 -> 16 -> 8
  for 6 layers), LeakyReLU 0.2 and dropout on every conv layer, no batch norm; two dense heads.
  Default (LeCun-normal) initialisation: without batch norm, N(0, 0.02) weights would shrink the
  signal layer after layer.
  """
  num_classes: int
  widths: Sequence[int] = (32, 64, 128, 256, 512, 512)
  kernel_size: int = 3
  dropout: float = 0.5
  matmul_dtype: Any = None
  conv_impl: str = 'patches'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    for i, width in enumerate(self.widths):
      x = layers.Conv(width, self.kernel_size, strides=2 if i % 2 == 0 else 1,
                      matmul_dtype=self.matmul_dtype, impl=self.conv_impl)(x)
      x = nn.leaky_relu(x, 0.2)
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = x.reshape(x.shape[0], -1)
    return nn.Dense(1)(x)[:, 0], nn.Dense(self.num_classes)(x)
