"""Convolution layers computed as patch extraction + one matrix product.

XLA-CPU runs the backward pass of its native convolution ~30x slower inside a loop body
(``lax.scan``; see jax-ml/jax#12868) than outside, which rules out whole epochs under ``scan``
with Flax's stock ``nn.Conv``. :class:`Conv` below has the same parameters (names, shapes,
initialisers) and computes the same function as ``nn.Conv`` with 'SAME' padding, but as k*k shifted
(strided) slices concatenated on the channel axis and one ``dot_general`` -- plain slicing and a
matmul, fast inside loops and on every backend. ``tests/test_layers.py`` checks equality with
``nn.Conv`` on random weights and inputs; ``benchmarks/`` measures the speed.

:func:`max_pool_2x2` replaces ``nn.max_pool(x, (2, 2), strides=(2, 2))`` for the same reason of
speed: XLA-CPU differentiates ``reduce_window`` max through iota, broadcast and scatter ops that
took about half the classifier's step time; a reshape and a max reduction are elementwise work.
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


def transpose_phase_taps(kernel: int, stride: int) -> list[list[tuple[int, int]]]:
  """Returns, per output phase r (0 <= r < stride), the (kernel tap, input offset) pairs of a 'SAME'
  transposed convolution along one axis: y[stride*p + r] = sum x[p + offset] * w[tap].

  Derivation: Flax's ``nn.ConvTranspose(padding='SAME')`` is a stride-1 correlation of the input
  dilated by `stride` and padded by (a, b) with a = ceil((k + s - 2) / 2) (k - 1 if s > k - 1):
  y[o] = sum_t xd[o + t] w[t], and xd[m] = x[(m - a) / s] where (m - a) divides by s.
  So tap t feeds phase r iff (r + t - a) % s == 0, reading x at offset (r + t - a) // s. Every tap
  lands in exactly one phase: k taps per axis in all, k^2 in 2-D, none wasted on inserted zeros.
  """
  pad_len = kernel + stride - 2
  a = kernel - 1 if stride > kernel - 1 else -(-pad_len // 2)
  return [[(t, (r + t - a) // stride) for t in range(kernel) if (r + t - a) % stride == 0]
          for r in range(stride)]


class ConvTranspose(nn.Module):
  """Square-kernel 'SAME' transposed convolution (output = stride x input), drop-in for
  ``nn.ConvTranspose(features, (k, k), strides=(s, s), padding='SAME')``, computed as s*s
  sub-pixel phases, each one patch extraction + matmul over only its own taps (exact: the k*k
  multiply-adds per output pixel block, no zeros), then interleaved (depth-to-space)."""
  features: int
  kernel_size: int
  strides: int = 2
  use_bias: bool = True
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, s, cin = self.kernel_size, self.strides, x.shape[-1]
    kernel = self.param('kernel', self.kernel_init, (k, k, cin, self.features))
    n, h, w, _ = x.shape
    taps = transpose_phase_taps(k, s)
    offsets = [o for phase in taps for _, o in phase]
    lo, hi = max(0, -min(offsets)), max(0, max(offsets))
    xp = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
    rows = []
    for ty_list in taps:
      cols = []
      for tx_list in taps:
        patches = [jax.lax.slice(xp, (0, lo + oy, lo + ox, 0), (n, lo + oy + h, lo + ox + w, cin))
                   for _, oy in ty_list for _, ox in tx_list]
        sub = jnp.stack([kernel[ty, tx] for ty, _ in ty_list for tx, _ in tx_list])
        cols.append(jnp.einsum('nhwp,pf->nhwf', jnp.concatenate(patches, -1),
                               sub.reshape(-1, self.features)))
      rows.append(jnp.stack(cols, axis=3))             # (n, h, w, s_x, f)
    y = jnp.stack(rows, axis=2)                         # (n, h, s_y, w, s_x, f)
    y = y.reshape(n, h * s, w * s, self.features)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,))
    return y
