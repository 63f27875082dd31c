"""The resize-convolution (nearest-neighbour x2 upsampling, then a 'SAME' stride-1 convolution)
computed at the input's resolution, as four output phases: the generator option
``upsample='resize'`` (:class:`liverjax.models.layers.Conv` with ``upsample=True``)."""

from __future__ import annotations

from typing import Any

import jax

from liverjax.models.conv_ops import phase_matmuls


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
  taps = upsample_phase_taps(kernel.shape[0])
  return phase_matmuls(x, [[[(oy, ox, sum(kernel[ty, tx] for ty in tys for tx in txs))
                             for oy, tys in ty_groups for ox, txs in tx_groups]
                            for tx_groups in taps] for ty_groups in taps], dtype)
