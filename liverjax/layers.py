"""Convolution layers computed as patch extraction + one matrix product.

XLA-CPU runs the backward pass of its native convolution ~30x slower inside a loop body
(``lax.scan``; see jax-ml/jax#12868) than outside, which rules out whole epochs under ``scan``
with Flax's stock ``nn.Conv``. :class:`Conv` below has the same parameters (names, shapes,
initialisers) and computes the same function as ``nn.Conv`` with 'SAME' padding, but as k*k shifted
(strided) slices concatenated on the channel axis and one ``dot_general`` -- plain slicing and a
matmul, fast inside loops and on every backend. ``tests/test_layers.py`` checks equality with
``nn.Conv`` on random weights and inputs; ``benchmarks/`` measures the speed.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
  """Returns (low, high) 'SAME' padding of one spatial axis, as XLA/Flax compute it."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def extract_patches(x: jax.Array, kernel: int, stride: int = 1) -> jax.Array:
  """Returns (N, Ho, Wo, k*k*C) 'SAME' patches of x (N, H, W, C), ordered (ky, kx, c) like a
  Flax kernel reshaped to (k*k*C, features)."""
  n, h, w, c = x.shape
  ph, pw = same_padding(h, kernel, stride), same_padding(w, kernel, stride)
  xp = jnp.pad(x, ((0, 0), ph, pw, (0, 0)))
  ho, wo = -(-h // stride), -(-w // stride)
  cols = [jax.lax.slice(xp, (0, i, j, 0), (n, i + stride * (ho - 1) + 1,
                                             j + stride * (wo - 1) + 1, c), (1, stride, stride, 1))
          for i in range(kernel) for j in range(kernel)]
  return jnp.concatenate(cols, axis=-1)


class Conv(nn.Module):
  """Square-kernel 'SAME' convolution, drop-in for ``nn.Conv(features, (k, k), strides=s)``."""
  features: int
  kernel_size: int
  strides: int = 1
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, cin = self.kernel_size, x.shape[-1]
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, self.features))
    patches = extract_patches(x, k, self.strides)
    y = jnp.einsum('nhwp,pf->nhwf', patches, kernel.reshape(k * k * cin, self.features))
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,))
    return y
