"""The paper's GANs as Flax modules: the DCGAN generator and discriminator, the ACGAN
discriminator (the ACGAN generator is the DCGAN one with a class input).

Used as pure functions by :mod:`liverjax.steps.gan`. Widths, kernel sizes, mixed precision and
the convolution form are module attributes, set from the config by
:mod:`liverjax.experiment.builders`.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax.models import layers


DCGAN_INIT = nn.initializers.normal(0.02)
NORMS = ('batch', 'layer', 'none')
UPSAMPLINGS = ('transposed', 'resize')


class DCGANGenerator(nn.Module):
  """Returns 64x64x1 images in [-1, 1] (tanh) from z (N, z_dim).

  Dense to 4x4xwidths[0], batch norm, ReLU, then len(widths) transposed 5x5 stride-2
  convolutions (widths[1:], then 1 channel) with batch norm and ReLU except the tanh output:
  4 -> 8 -> 16 -> 32 -> 64 for the paper's widths (1024, 512, 256, 128). Layers followed by batch
  norm have no bias (it would be cancelled by the normalisation; its gradient is zero and Adam
  would only amplify rounding noise). With num_classes > 0 the class enters as a one-hot vector
  concatenated to z (the ACGAN generator). bn_momentum is the batch norms' running-average
  momentum; ``gan.standing_stats`` clones the module with 0 to read a batch's exact statistics.
  upsample='resize' (not in the paper) replaces each transposed convolution by a nearest-neighbour
  x2 upsampling and a stride-1 convolution of the same kernel shape (Odena et al. 2016): no
  uneven overlap of kernels, hence no checkerboard from the layer itself.
  """
  widths: Sequence[int] = (1024, 512, 256, 128)
  kernel_size: int = 5
  num_classes: int = 0
  bn_momentum: float = 0.9
  matmul_dtype: Any = None
  conv_impl: str = 'patches'
  upsample: str = 'transposed'      # or 'resize'

  @nn.compact
  def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
    if self.num_classes:
      z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], -1)
    bn = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                              epsilon=1e-5)
    x = nn.Dense(4 * 4 * self.widths[0], use_bias=False, kernel_init=DCGAN_INIT)(z)
    x = nn.relu(bn()(x.reshape(z.shape[0], 4, 4, self.widths[0])))
    for width in self.widths[1:]:
      x = nn.relu(bn()(self._up(x, width, use_bias=False)))
    return jnp.tanh(self._up(x, 1, use_bias=True))

  def _up(self, x: jax.Array, features: int, use_bias: bool) -> jax.Array:
    """Returns x at twice its size with `features` channels (self.upsample's form)."""
    kw = dict(use_bias=use_bias, kernel_init=DCGAN_INIT, matmul_dtype=self.matmul_dtype,
              impl=self.conv_impl)
    if self.upsample == 'transposed':
      return layers.ConvTranspose(features, self.kernel_size, 2, **kw)(x)
    if self.upsample == 'resize':
      return layers.Conv(features, self.kernel_size, upsample=True, **kw)(x)
    raise ValueError(f'upsample={self.upsample!r}: expected transposed or resize')


class DCGANDiscriminator(nn.Module):
  """Returns real/fake logits (N,) of 64x64x1 images in [-1, 1].

  len(widths) strided 5x5 convolutions (64 -> 32 -> 16 -> 8 -> 4 for 4 layers), LeakyReLU 0.2,
  a normalisation except after the first layer and at the output (no conv bias before it), then a
  dense logit. norm: 'batch' (the paper: batch norm, so one image's logit depends on the batch),
  'layer' (each image's feature map normalised over height, width and channels on its own, a
  scale and offset per channel) or 'none' (conv biases instead); an R1 penalty needs a
  per-image gradient, so 'layer' or 'none'.
  """
  widths: Sequence[int] = (64, 128, 256, 512)
  kernel_size: int = 5
  matmul_dtype: Any = None
  conv_impl: str = 'patches'
  norm: str = 'batch'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True):
    if self.norm not in NORMS:
      raise ValueError(f'norm={self.norm!r}: expected one of {NORMS}')
    for i, width in enumerate(self.widths):
      normed = i > 0 and self.norm != 'none'
      x = layers.Conv(width, self.kernel_size, strides=2, use_bias=not normed,
                      kernel_init=DCGAN_INIT, matmul_dtype=self.matmul_dtype,
                      impl=self.conv_impl)(x)
      if normed and self.norm == 'batch':
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
      elif normed:
        x = nn.LayerNorm(epsilon=1e-5, reduction_axes=(1, 2, 3), feature_axes=-1)(x)
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
