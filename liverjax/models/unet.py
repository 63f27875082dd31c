"""The diffusion arm's network: a small class-conditional U-Net for 64x64 one-channel images.

A pure function F(x_in, c_noise, labels) used inside EDM's preconditioning
(:mod:`liverjax.steps.diffusion`); it never sees sigma itself, only c_noise = ln(sigma) / 4, and
never sees raw images, only c_in * x. The layout follows EDM's small U-Nets (Karras et al. 2022,
after Song et al. 2021 and Dhariwal & Nichol 2021) at a width meant for a CPU:

- an embedding of c_noise (sinusoidal, then a two-layer MLP) plus a class embedding (a bias-free
  dense layer of the one-hot label; label -1 gives a zero one-hot, hence the unconditional
  model that classifier-free guidance needs);
- per resolution, ``num_blocks`` residual blocks (GroupNorm, SiLU, 3x3 convolution, the embedding
  as a per-channel scale and shift, dropout, a second convolution whose weights start at zero),
  a stride-2 convolution down, and on the way up one more block per level over the concatenated
  skip connections and a nearest-neighbour x2 resize-convolution;
- self-attention after every block at the resolutions in ``attn_resolutions`` (by default the
  lowest, 8x8) and in the middle;
- a zero-initialised output convolution, so that an untrained F is 0 and D(x) = c_skip * x.

Convolutions are :class:`liverjax.models.layers.Conv` (patch matrices + matmul: fast inside
``lax.scan`` on a CPU; ``conv_impl='xla'`` for XLA's own). GroupNorm is per image: nothing is
shared across a batch, so data-parallel steps need no cross-device statistics.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from liverjax.models import layers

ZERO = nn.initializers.zeros_init()


def group_count(channels: int, max_groups: int = 32, min_size: int = 4) -> int:
  """Returns GroupNorm's group count for `channels`: the most groups (at most max_groups) that
  divide the channels into groups of at least min_size."""
  g = max(1, min(max_groups, channels // min_size))
  while channels % g:
    g -= 1
  return g


def noise_embedding(c_noise: jax.Array, dim: int, max_positions: int = 10_000) -> jax.Array:
  """Returns the sinusoidal embedding (N, dim) of c_noise (N,): cos and sin of c_noise at dim/2
  frequencies from 1 down to 1/max_positions (EDM's PositionalEmbedding, endpoint=True)."""
  half = dim // 2
  freqs = (1.0 / max_positions) ** (jnp.arange(half, dtype=jnp.float32) / max(half - 1, 1))
  angles = c_noise.astype(jnp.float32)[:, None] * freqs[None, :]
  return jnp.concatenate([jnp.cos(angles), jnp.sin(angles)], axis=-1)


def space_to_depth(x: jax.Array, p: int) -> jax.Array:
  """Returns x (N, H, W, C) with each p x p block of pixels as p*p*C channels (N, H/p, W/p,
  p*p*C), ordered (row in block, column in block, channel)."""
  n, h, w, c = x.shape
  return x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(
      n, h // p, w // p, p * p * c)


def depth_to_space(x: jax.Array, p: int) -> jax.Array:
  """Returns the inverse of :func:`space_to_depth`: (N, H, W, p*p*C) -> (N, p*H, p*W, C)."""
  n, h, w, cc = x.shape
  c = cc // (p * p)
  return x.reshape(n, h, w, p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * p, w * p, c)


class ResBlock(nn.Module):
  """Returns (x + block(x, emb)) / sqrt(2), with a 1x1 convolution on the skip path where the
  channel count changes."""
  features: int
  dropout: float = 0.0
  conv_impl: str = 'patches'

  @nn.compact
  def __call__(self, x: jax.Array, emb: jax.Array, train: bool) -> jax.Array:
    c = x.shape[-1]
    h = layers.Conv(self.features, 3, impl=self.conv_impl)(
        nn.silu(nn.GroupNorm(group_count(c))(x)))
    scale, shift = jnp.split(nn.Dense(2 * self.features)(emb)[:, None, None, :], 2, axis=-1)
    h = nn.GroupNorm(group_count(self.features))(h) * (1.0 + scale) + shift
    h = nn.Dropout(self.dropout, deterministic=not train)(nn.silu(h))
    h = layers.Conv(self.features, 3, impl=self.conv_impl, kernel_init=ZERO)(h)
    if c != self.features:
      x = layers.Conv(self.features, 1, impl=self.conv_impl)(x)
    return (x + h) * math.sqrt(0.5)


class Attention(nn.Module):
  """Returns x + self-attention over its pixels (multi-head, 64 channels a head), the output
  projection starting at zero."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    n, hgt, wid, c = x.shape
    h = nn.GroupNorm(group_count(c))(x).reshape(n, hgt * wid, c)
    h = nn.MultiHeadDotProductAttention(num_heads=max(1, c // 64), out_kernel_init=ZERO)(h)
    return x + h.reshape(x.shape)


class UNet(nn.Module):
  """Returns F(x_in, c_noise, labels): (N, 64, 64, 1) from x_in (N, 64, 64, 1), c_noise (N,) and
  integer labels (N,) in [0, num_classes) or -1 for none.

  channels: the first level's width; channel_mult: each level's width over it (len = levels;
  64 -> 32 -> 16 -> 8 for four); num_blocks: residual blocks per level on the way down.
  patch: 2 folds each 2x2 block of pixels into channels first (space-to-depth) and unfolds the
  output, so the first level runs at 32x32 (a quarter of the work; U-ViT's and DiT's patches).
  """
  num_classes: int
  channels: int = 32
  channel_mult: Sequence[int] = (1, 2, 2, 2)
  num_blocks: int = 1
  attn_resolutions: Sequence[int] = (8,)
  dropout: float = 0.1
  conv_impl: str = 'patches'
  patch: int = 1

  @nn.compact
  def __call__(self, x: jax.Array, c_noise: jax.Array, labels: jax.Array,
               train: bool = False) -> jax.Array:
    out_channels = x.shape[-1] * self.patch ** 2
    x = space_to_depth(x, self.patch)
    emb_dim = 4 * self.channels
    emb = noise_embedding(c_noise, self.channels)
    emb = nn.Dense(emb_dim)(nn.silu(nn.Dense(emb_dim)(emb)))
    if self.num_classes:
      one_hot = jax.nn.one_hot(labels, self.num_classes)        # label -1: all zeros
      emb = emb + nn.Dense(emb_dim, use_bias=False)(one_hot * math.sqrt(self.num_classes))
    emb = nn.silu(emb)
    block = lambda f: ResBlock(f, self.dropout, self.conv_impl)   # noqa: E731

    h = layers.Conv(self.channels, 3, impl=self.conv_impl)(x)
    skips = [h]
    for level, mult in enumerate(self.channel_mult):
      for _ in range(self.num_blocks):
        h = block(self.channels * mult)(h, emb, train)
        if h.shape[1] in self.attn_resolutions:
          h = Attention()(h)
        skips.append(h)
      if level < len(self.channel_mult) - 1:
        h = layers.Conv(h.shape[-1], 3, strides=2, impl=self.conv_impl)(h)
        skips.append(h)
    h = Attention()(block(h.shape[-1])(h, emb, train))
    h = block(h.shape[-1])(h, emb, train)
    for level, mult in reversed(list(enumerate(self.channel_mult))):
      for _ in range(self.num_blocks + 1):
        h = block(self.channels * mult)(jnp.concatenate([h, skips.pop()], axis=-1), emb, train)
        if h.shape[1] in self.attn_resolutions:
          h = Attention()(h)
      if level > 0:
        h = layers.Conv(h.shape[-1], 3, upsample=True, impl=self.conv_impl)(h)
    h = nn.silu(nn.GroupNorm(group_count(h.shape[-1]))(h))
    h = layers.Conv(out_channels, 3, impl=self.conv_impl, kernel_init=ZERO)(h)
    return depth_to_space(h, self.patch)
