"""Convolution layers computed as patch extraction + one matrix product.

XLA-CPU runs the backward pass of its native convolution far slower inside a loop body
(``lax.scan``; see jax-ml/jax#12868; docs/decisions/convolution_lowering.md) than outside, which
rules out whole epochs under ``scan`` with Flax's stock ``nn.Conv``. :class:`Conv` below has the same parameters (names, shapes,
initialisers) and computes the same function as ``nn.Conv`` with 'SAME' padding, but as k*k shifted
(strided) slices concatenated on the channel axis and one ``dot_general`` -- plain slicing and a
matmul, fast inside loops and on every backend. A one-channel input that needs no gradient (the
classifier's images) is instead a sum of k*k slices times kernel rows, with a written-out weight
gradient. ``tests/test_layers.py`` checks equality (values and gradients) with ``nn.Conv`` on
random weights and inputs; ``benchmarks/`` measures the speed.

:func:`max_pool_2x2` replaces ``nn.max_pool(x, (2, 2), strides=(2, 2))`` for the same reason of
speed: XLA-CPU differentiates ``reduce_window`` max through iota, broadcast and scatter ops that
took about half the classifier's step time; a reshape and a max reduction are elementwise work.

``matmul_dtype=jnp.bfloat16`` on :class:`Conv` / :class:`ConvTranspose` (default None: float32)
runs their matmuls in mixed precision (:func:`liverjax.models.conv_ops.matmul`); the parameters
are the same.

``impl='xla'`` on both (default ``'patches'``) computes the layer with XLA's own convolution
instead, exactly as ``nn.Conv`` / ``nn.ConvTranspose`` do (``lax.conv_general_dilated`` /
``lax.conv_transpose``): cuDNN's kernels on an NVIDIA GPU, which read the input in place where the
patch matrices above are written out and read back. Float32 only (with a GPU's default precision,
TF32 products). Which is faster where: benchmarks/README.md.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax.models import conv_ops, upsample_ops


IMPLS = ('patches', 'xla')
_NHWC = ('NHWC', 'HWIO', 'NHWC')


def _check_impl(impl: str, matmul_dtype: Any) -> None:
  if impl not in IMPLS:
    raise ValueError(f'impl={impl!r}: expected one of {IMPLS}')
  if impl == 'xla' and matmul_dtype is not None:
    raise ValueError("impl='xla' runs float32 only; matmul_dtype needs impl='patches'")


def max_pool_2x2(x: jax.Array) -> jax.Array:
  """Returns ``nn.max_pool(x, (2, 2), strides=(2, 2))`` (VALID: an odd last row/column is dropped)
  of x (N, H, W, C), as a reshape and a max over each 2x2 block.

  The forward pass is identical. The gradient is too, except where a block holds several equal
  maxima: ``reduce_window`` sends the whole gradient to one of them, ``jnp.max`` splits it equally.
  In the classifier the pool follows a ReLU, whose gradient is zero where ties are likely (blocks
  of zeros); equal positive maxima of float convolutions are a measure-zero event.
  """
  n, h, w, c = x.shape
  x = x[:, :h - h % 2, :w - w % 2]
  return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


class Conv(nn.Module):
  """Square-kernel 'SAME' convolution, drop-in for ``nn.Conv(features, (k, k), strides=s)``.

  input_grad=False declares the input to be data: no gradient flows to it (``stop_gradient``),
  and a one-channel input then takes a faster form
  (:func:`~liverjax.models.conv_ops.conv_one_channel_data`). Parameters
  and outputs are the same either way. impl='xla': XLA's convolution, as ``nn.Conv``.
  upsample=True (stride 1): the input is first upsampled x2 by nearest neighbour (a
  resize-convolution, Odena et al. 2016), computed at the input's resolution with 'patches'
  (:func:`~liverjax.models.upsample_ops.upsample_conv`).
  """
  features: int
  kernel_size: int
  strides: int = 1
  use_bias: bool = True
  input_grad: bool = True
  upsample: bool = False
  matmul_dtype: Any = None
  impl: str = 'patches'
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, cin = self.kernel_size, x.shape[-1]
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, self.features))
    _check_impl(self.impl, self.matmul_dtype)
    if self.upsample and self.strides != 1:
      raise ValueError(f'upsample=True needs strides=1, not {self.strides}')
    x = x if self.input_grad else jax.lax.stop_gradient(x)
    if self.upsample and self.impl != 'xla':
      y = upsample_ops.upsample_conv(x, kernel, self.matmul_dtype)
    elif self.impl == 'xla':
      if self.upsample:
        x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
      y = jax.lax.conv_general_dilated(x, kernel, (self.strides,) * 2, 'SAME',
                                       dimension_numbers=_NHWC)
    elif cin == 1 and not self.input_grad:
      y = conv_ops.conv_one_channel_data(x, kernel, self.strides)
    else:
      y = conv_ops.patch_matmul(conv_ops.extract_patches(x, k, self.strides),
                        kernel.reshape(k * k * cin, self.features), self.matmul_dtype)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,))
    return y


class ConvTranspose(nn.Module):
  """Square-kernel 'SAME' transposed convolution (output = stride x input), drop-in for
  ``nn.ConvTranspose(features, (k, k), strides=(s, s), padding='SAME')``, computed exactly (the
  k*k multiply-adds per input pixel, none on inserted zeros) in one of two sub-pixel forms, chosen
  by which one moves fewer bytes (XLA-CPU spends more time building patch matrices than
  multiplying them):

  - input side (features >= input channels): s*s phases, each one patch extraction over its own
    taps + matmul, then interleaved (depth-to-space); patches hold k*k*C_in values per input pixel;
  - output side (features < input channels, every DCGAN generator layer): one matmul of the
    unpadded input by all taps at once, Z = x @ W (k*k*features values per input pixel), then each
    output phase is a sum of shifted slices of Z. For the 128 -> 1 output layer this is 128x less
    than the input-side patches.

  impl='xla': XLA's transposed convolution, as ``nn.ConvTranspose``.
  """
  features: int
  kernel_size: int
  strides: int = 2
  use_bias: bool = True
  matmul_dtype: Any = None
  impl: str = 'patches'
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, s, cin = self.kernel_size, self.strides, x.shape[-1]
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, self.features))
    _check_impl(self.impl, self.matmul_dtype)
    if self.impl == 'xla':
      y = jax.lax.conv_transpose(x, kernel, (s, s), 'SAME', dimension_numbers=_NHWC)
    elif self.features < cin:
      y = conv_ops.conv_transpose_output_side(x, kernel, s, self.matmul_dtype)
    else:
      y = conv_ops.conv_transpose_input_side(x, kernel, s, self.matmul_dtype)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,))
    return y
