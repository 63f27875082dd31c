"""The convolutions' arithmetic as slices and matmuls: patch matrices, mixed-precision matmul,
transposed convolutions by output phase, the one-channel first layer with a written-out gradient.

These are the pieces :mod:`liverjax.models.layers` builds its Flax modules from (why this form:
that module's docstring). Each function is pure and jittable; the custom VJPs are checked against
the stock Flax layers in ``tests/test_layers.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
  """Returns (low, high) 'SAME' padding of one spatial axis, as XLA/Flax compute it."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def matmul(a: jax.Array, b: jax.Array, dtype: Any = None) -> jax.Array:
  """Returns a @ b (2-D). dtype None: ``jnp.dot`` in the inputs' dtype. dtype bfloat16: mixed
  precision, as on TPUs and in PyTorch's autocast: the operands are rounded to bfloat16 and the
  products summed and returned in float32; in the backward pass the input gradient likewise (the
  output's cotangent rounded to bfloat16), while the weight gradient a.T @ g stays a float32
  matmul (of the rounded a and the unrounded cotangent): XLA-CPU runs that shape, a long
  contraction over the batch's pixels into a small output, slower in bfloat16 than in float32
  (docs/decisions/mixed_precision.md). Gradients come back in the operands' dtypes."""
  if dtype is None:
    return jnp.dot(a, b)
  return _lowp_dot(a, b, jnp.dtype(dtype))


# dot_general dimension numbers of A @ B.T. XLA-CPU runs it fast in bfloat16 only when written
# this way, not with an explicit transpose of B (docs/decisions/mixed_precision.md).
_NT = (((1,), (1,)), ((), ()))


def matmul_grads(a, b, g, dtype):
  """Returns (dL/da, dL/db) of a @ b from its output's cotangent g, as :func:`matmul` defines them
  for dtype (None: plain float32 matmuls)."""
  if dtype is None:
    return jnp.dot(g, b.T), jnp.dot(a.T, g)
  da = jax.lax.dot_general(g.astype(dtype), b.astype(dtype), _NT,
                           preferred_element_type=jnp.float32)
  return da, jnp.dot(a.astype(dtype).astype(jnp.float32).T, g)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _lowp_dot(a, b, dtype):
  return _lowp_dot_fwd(a, b, dtype)[0]


def _lowp_dot_fwd(a, b, dtype):
  a_low, b_low = a.astype(dtype), b.astype(dtype)
  out = jnp.dot(a_low, b_low, preferred_element_type=jnp.float32)
  # zero-size arrays carry the operands' dtypes to the backward pass
  return out, (a_low, b_low, jnp.zeros((0,), a.dtype), jnp.zeros((0,), b.dtype))


def _lowp_dot_bwd(dtype, res, g):
  a_low, b_low, a_like, b_like = res
  da, db = matmul_grads(a_low, b_low, g, dtype)
  return da.astype(a_like.dtype), db.astype(b_like.dtype)


_lowp_dot.defvjp(_lowp_dot_fwd, _lowp_dot_bwd)


def patch_matmul(patches: jax.Array, w: jax.Array, dtype: Any = None) -> jax.Array:
  """Returns patches (N, H, W, P) @ w (P, F) as (N, H, W, F), by :func:`matmul` with dtype."""
  if dtype is None:   # the float32 form as it always was (same rounding)
    return jnp.einsum('nhwp,pf->nhwf', patches, w)
  n, h, wd, p = patches.shape
  return matmul(patches.reshape(n * h * wd, p), w, dtype).reshape(n, h, wd, w.shape[-1])


def extract_patches(x: jax.Array, kernel: int, stride: int = 1, as_list: bool = False):
  """Returns (N, Ho, Wo, k*k*C) 'SAME' patches of x (N, H, W, C), ordered (ky, kx, c) like a
  Flax kernel reshaped to (k*k*C, features); with as_list, the k*k (N, Ho, Wo, C) slices."""
  n, h, w, c = x.shape
  ph, pw = same_padding(h, kernel, stride), same_padding(w, kernel, stride)
  xp = jnp.pad(x, ((0, 0), ph, pw, (0, 0)))
  ho, wo = -(-h // stride), -(-w // stride)
  cols = [jax.lax.slice(xp, (0, i, j, 0), (n, i + stride * (ho - 1) + 1,
                                             j + stride * (wo - 1) + 1, c), (1, stride, stride, 1))
          for i in range(kernel) for j in range(kernel)]
  return cols if as_list else jnp.concatenate(cols, axis=-1)


def shift(a: jax.Array, oy: int, ox: int) -> jax.Array:
  """Returns b (N, H, W, ...) with b[:, i, j] = a[:, i + oy, j + ox], zero outside a."""
  pads = [(0, 0, 0), (-oy, oy, 0), (-ox, ox, 0)] + [(0, 0, 0)] * (a.ndim - 3)
  return jax.lax.pad(a, jnp.zeros((), a.dtype), pads)


def interleave_phases(phases: list[list[jax.Array]]) -> jax.Array:
  """Returns (N, s*H, s*W, F) from phases[r_y][r_x] (N, H, W, F): y[s*i + r_y, s*j + r_x]
  (depth-to-space)."""
  s = len(phases)
  n, h, w, f = phases[0][0].shape
  rows = [jnp.stack(row, axis=3) for row in phases]     # each (n, h, w, s_x, f)
  return jnp.stack(rows, axis=2).reshape(n, h * s, w * s, f)   # via (n, h, s_y, w, s_x, f)


def _all_taps(kernel: jax.Array) -> jax.Array:
  """Returns kernel (k, k, C, F) as a (C, k*k*F) matrix, columns ordered (ty, tx, f)."""
  k, _, cin, f = kernel.shape
  return kernel.transpose(2, 0, 1, 3).reshape(cin, k * k * f)


def _phase_sum(z: jax.Array, taps) -> jax.Array:
  """Output of the output-side transposed convolution from z (N, H, W, k, k, F)."""
  return interleave_phases([[sum(shift(z[:, :, :, ty, tx], oy, ox) for ty, oy in ty_list
                                  for tx, ox in tx_list) for tx_list in taps]
                             for ty_list in taps])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose_output_side(x: jax.Array, kernel: jax.Array, s: int,
                                dtype: Any = None) -> jax.Array:
  """'SAME' transposed convolution of x (N, H, W, C) by kernel (k, k, C, F), stride s, as
  z = x @ kernel (every tap of every input pixel) and a sum of shifted slices of z per phase."""
  return _conv_transpose_output_side_fwd(x, kernel, s, dtype)[0]


def _conv_transpose_output_side_fwd(x, kernel, s, dtype):
  k, _, cin, f = kernel.shape
  n, h, w, _ = x.shape
  z = matmul(x.reshape(n * h * w, cin), _all_taps(kernel), dtype)
  return _phase_sum(z.reshape(n, h, w, k, k, f), transpose_phase_taps(k, s)), (x, kernel)


def _conv_transpose_output_side_bwd(s, dtype, res, dy):
  # The adjoint, written out so that XLA builds dz with one stack of shifted slices of dy instead
  # of differentiating the sum of slices (k*k pads added into z's layout, then transposed for the
  # weight gradient: far slower on XLA-CPU; docs/decisions/convolution_lowering.md).
  x, kernel = res
  k, _, cin, f = kernel.shape
  n, h, w, _ = x.shape
  taps = transpose_phase_taps(k, s)
  phase = dy.reshape(n, h, s, w, s, f)
  pieces = [None] * (k * k)
  for ry, ty_list in enumerate(taps):
    for rx, tx_list in enumerate(taps):
      dyp = phase[:, :, ry, :, rx]
      for ty, oy in ty_list:
        for tx, ox in tx_list:
          pieces[ty * k + tx] = shift(dyp, -oy, -ox)
  dz = jnp.stack(pieces, axis=3).reshape(n * h * w, k * k * f)
  dx, dw = matmul_grads(x.reshape(n * h * w, cin), _all_taps(kernel), dz, dtype)   # of z
  dw = dw.reshape(cin, k, k, f).transpose(1, 2, 0, 3)
  return dx.reshape(n, h, w, cin).astype(x.dtype), dw.astype(kernel.dtype)


conv_transpose_output_side.defvjp(_conv_transpose_output_side_fwd,
                                   _conv_transpose_output_side_bwd)


def conv_transpose_input_side(x: jax.Array, kernel: jax.Array, s: int,
                               dtype: Any = None) -> jax.Array:
  """'SAME' transposed convolution of x (N, H, W, C) by kernel (k, k, C, F), stride s, as s*s
  phases, each one patch extraction over its own taps + matmul."""
  taps = transpose_phase_taps(kernel.shape[0], s)
  return phase_matmuls(x, [[[(oy, ox, kernel[ty, tx]) for ty, oy in ty_list for tx, ox in tx_list]
                            for tx_list in taps] for ty_list in taps], dtype)


def phase_matmuls(x: jax.Array, terms, dtype: Any = None) -> jax.Array:
  """Returns (N, s*H, s*W, F) from x (N, H, W, C), whose output phase (r_y, r_x) is the sum of
  x[:, i + oy, j + ox] @ w (zero outside x) over terms[r_y][r_x] = [(oy, ox, w (C, F))]: one
  patch extraction and matmul per phase, then interleaved (depth-to-space)."""
  n, h, w, cin = x.shape
  offsets = [o for row in terms for phase in row for t in phase for o in t[:2]]
  lo, hi = max(0, -min(offsets)), max(0, max(offsets))
  xp = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))

  def phase(phase_terms):
    patches = [jax.lax.slice(xp, (0, lo + oy, lo + ox, 0), (n, lo + oy + h, lo + ox + w, cin))
               for oy, ox, _ in phase_terms]
    sub = jnp.concatenate([wt for _, _, wt in phase_terms])
    return patch_matmul(jnp.concatenate(patches, -1), sub, dtype)

  return interleave_phases([[phase(p) for p in row] for row in terms])


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


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_one_channel_data(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """'SAME' convolution of one-channel data x (N, H, W, 1) by kernel (k, k, 1, F), as a sum of
  k*k shifted slices times a kernel row: one elementwise loop over the output. A patch matrix of
  k*k columns times the kernel is a matmul with K = 9 or 25 that XLA-CPU runs far below peak,
  bound by writing its (N*H*W, F) output. The backward pass builds the patch matrix and takes the
  weight gradient as (dy^T @ patches)^T, one matmul without the layout copies of dy and the
  patches that autodiff's form made XLA-CPU insert (docs/decisions/convolution_lowering.md).

  x is data: no gradient flows to it (callers pass ``stop_gradient(x)``). Computing dx in this
  backward pass too (from the patch matrix's adjoint, or from autodiff of the forward) made
  XLA-CPU (jaxlib 0.10.2) segfault running the DCGAN's scanned epoch (``launch.py
  --config=configs/dcgan.py:smoke``); autodiff of the forward instead is correct but made the
  classifier step slower than the patch matrix, so this path is for data only.
  """
  return _conv_one_channel_fwd(x, kernel, stride)[0]


def _conv_one_channel_fwd(x, kernel, stride):
  k, f = kernel.shape[0], kernel.shape[-1]
  rows = kernel.reshape(k * k, f)
  cols = extract_patches(x, k, stride, as_list=True)
  return sum(col * rows[t] for t, col in enumerate(cols)), (x, kernel)


def _conv_one_channel_bwd(stride, res, dy):
  x, kernel = res
  k, f = kernel.shape[0], kernel.shape[-1]
  patches = extract_patches(x, k, stride).reshape(-1, k * k)
  dw = jnp.dot(dy.reshape(-1, f).T, patches).T
  return jnp.zeros_like(x), dw.reshape(kernel.shape)


conv_one_channel_data.defvjp(_conv_one_channel_fwd, _conv_one_channel_bwd)
