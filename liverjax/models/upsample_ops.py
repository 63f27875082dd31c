"""The resize-convolution (nearest-neighbour x2 upsampling, then a 'SAME' stride-1 convolution)
computed at the input's resolution, as four output phases: the generator option
``upsample='resize'`` (:class:`liverjax.models.layers.UpsampleConv`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from liverjax.models.conv_ops import interleave_phases, patch_matmul


def upsample_phase_taps(kernel: int) -> list[list[tuple[int, list[int]]]]:
  """Returns, per output phase r (0 or 1), the (input offset, kernel taps) pairs of a nearest-
  neighbour x2 upsampling followed by a stride-1 'SAME' convolution, along one axis:
  y[2p + r] = sum over pairs of x[p + offset] * sum(w[taps]).

  Derivation: with u[j] = x[j // 2] the upsampled input and a = (k - 1) // 2 the convolution's
  leading pad, y[o] = sum_t u[o + t - a] w[t]; for o = 2p + r this reads x[p + (r + t - a) // 2]
  (floor division; u is zero outside exactly where x is). Taps with the same offset share one
  input pixel, so their weights add: 3 offsets instead of 5 taps for k = 5.
  """
  a = (kernel - 1) // 2
  phases = []
  for r in range(2):
    groups: dict[int, list[int]] = {}
    for t in range(kernel):
      groups.setdefault((r + t - a) // 2, []).append(t)
    phases.append(sorted(groups.items()))
  return phases


def upsample_conv(x: jax.Array, kernel: jax.Array, dtype: Any = None) -> jax.Array:
  """Returns conv(upsample2(x), kernel) (N, 2H, 2W, F): a 'SAME' stride-1 convolution by kernel
  (k, k, C, F) of x (N, H, W, C) upsampled x2 by nearest neighbour, computed at x's resolution as
  four phases, each a patch matmul over its offsets with the taps that share an offset summed
  (:func:`upsample_phase_taps`): (ceil(k/2)+1)^2 products per output pixel instead of k^2, and no
  patch matrix of the upsampled image."""
  k, _, cin, f = kernel.shape
  n, h, w, _ = x.shape
  taps = upsample_phase_taps(k)
  offsets = [o for phase in taps for o, _ in phase]
  lo, hi = max(0, -min(offsets)), max(0, max(offsets))
  xp = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))

  def phase(ty_groups, tx_groups):
    patches = [jax.lax.slice(xp, (0, lo + oy, lo + ox, 0), (n, lo + oy + h, lo + ox + w, cin))
               for oy, _ in ty_groups for ox, _ in tx_groups]
    sub = jnp.stack([sum(kernel[ty, tx] for ty in tys for tx in txs)
                     for _, tys in ty_groups for _, txs in tx_groups])
    return patch_matmul(jnp.concatenate(patches, -1), sub.reshape(-1, f), dtype)

  return interleave_phases([[phase(ty, tx) for tx in taps] for ty in taps])
