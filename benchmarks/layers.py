"""Per-layer benchmark: each convolution of a DCGAN, forward + both gradients, liverjax vs PyTorch.

  pip install -r benchmarks/requirements.txt
  python benchmarks/layers.py [--widths=quick|half|paper] [--variants=patches,s2d,adjoint,torch]

Where a whole train step (benchmarks/run.py) is slower than PyTorch's, this says which layer
costs it. For every generator layer (5x5 stride-2 transposed convolutions) and discriminator
layer (5x5 stride-2 convolutions) at batch 64 it times the gradient of sum(y^2) with respect to
the kernel and the input (the input gradient is what the G update back-propagates through D):
JAX under ``lax.scan`` of --n steps (as training runs), PyTorch eager the same number of steps,
the variants interleaved (A B C A B C ...), median of --reps. Variants:

- patches: liverjax.models.layers as the models use them (patch matrix + one matmul; sub-pixel forms for
  the transposed convolutions);
- xla: XLA's own convolution (``impl='xla'``; on a CPU seconds per layer in scan, so opt-in);
- s2d: strided convolutions only, an alternative form not used by liverjax: space-to-depth of the
  padded input, then a ceil(k/2) x ceil(k/2) stride-1 patch matrix over 4x the channels (9 slices
  instead of 25, K = 36 C instead of 25 C) and one matmul;
- adjoint: strided convolutions only, an alternative not used by liverjax: the patch-matrix form
  with the input gradient written out (a custom VJP: dpatches = dy @ kernel^T, then per input
  phase a sum of shifted slices of it, then depth-to-space) instead of autodiff's adjoint of the
  patch extraction (zero-interleaved pads of dpatches' columns added into the input's layout);
- torch: ``torch.nn.Conv2d`` / ``ConvTranspose2d`` (padding 2, output_padding 1), NCHW.

Writes a table and JSON (ms per layer per variant) to --out (default
benchmarks/layers_<widths>.json).
"""

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import torch  # noqa: E402

from liverjax.base import provenance  # noqa: E402
from liverjax.models import conv_ops, layers  # noqa: E402

from benchmarks.bench import gan as gan_entries, harness, timers  # noqa: E402

BATCH = harness.BATCH


def conv_s2d(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """'SAME' k x k stride-2 convolution (as nn.Conv) via space-to-depth: y[o] = sum_t xp[2o + t]
  w[t] = sum_{q, r} xs[o + q, r] w[2q + r] with xs[m, r] = xp[2m + r], so a stride-1 'VALID'
  convolution of xs (4C channels) with the kernel zero-padded to even size and regrouped."""
  n, h, w, c = x.shape
  k, f = kernel.shape[0], kernel.shape[-1]
  q = -(-k // 2)
  ho, wo = -(-h // 2), -(-w // 2)
  (py, _), (px, _) = conv_ops.same_padding(h, k, 2), conv_ops.same_padding(w, k, 2)
  hp, wp = 2 * (ho + q - 1), 2 * (wo + q - 1)
  xp = jnp.pad(x, ((0, 0), (py, hp - h - py), (px, wp - w - px), (0, 0)))
  xs = xp.reshape(n, hp // 2, 2, wp // 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(
      n, hp // 2, wp // 2, 4 * c)
  ke = jnp.pad(kernel, ((0, 2 * q - k), (0, 2 * q - k), (0, 0), (0, 0)))
  wq = ke.reshape(q, 2, q, 2, c, f).transpose(0, 2, 1, 3, 4, 5).reshape(q * q * 4 * c, f)
  cols = [jax.lax.slice(xs, (0, i, j, 0), (n, i + ho, j + wo, 4 * c))
          for i in range(q) for j in range(q)]
  return conv_ops.patch_matmul(jnp.concatenate(cols, -1), wq)


def conv_input_taps(k: int, s: int, pad_low: int) -> list[list[tuple[int, int]]]:
  """Per input phase r: the (tap, offset) pairs with dx[s*p + r] += dpatches[p + offset, tap], the
  adjoint of y[o] = sum_t x[s*o + t - pad_low] w[t] along one axis."""
  return [[(t, (r + pad_low - t) // s) for t in range(k) if (r + pad_low - t) % s == 0]
          for r in range(s)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_adjoint(x: jax.Array, kernel: jax.Array, s: int) -> jax.Array:
  """layers.Conv's patch-matrix form (H, W multiples of s) with a written-out input gradient."""
  return _conv_adjoint_fwd(x, kernel, s)[0]


def _conv_adjoint_fwd(x, kernel, s):
  k, _, c, f = kernel.shape
  patches = conv_ops.extract_patches(x, k, s)
  return conv_ops.patch_matmul(patches, kernel.reshape(k * k * c, f)), (patches, kernel)


def _conv_adjoint_bwd(s, res, dy):
  patches, kernel = res
  k, _, c, f = kernel.shape
  n, ho, wo, _ = dy.shape
  dp, dw = conv_ops.matmul_grads(patches.reshape(n * ho * wo, k * k * c),
                                kernel.reshape(k * k * c, f), dy.reshape(n * ho * wo, f), None)
  dp, dw = dp.reshape(n, ho, wo, k, k, c), dw.reshape(kernel.shape)
  ty_, tx_ = (conv_input_taps(k, s, conv_ops.same_padding(m * s, k, s)[0]) for m in (ho, wo))
  dx = conv_ops.interleave_phases([[sum(conv_ops.shift(dp[:, :, :, ty, tx], oy, ox)
                                       for ty, oy in tyl for tx, ox in txl) for txl in tx_]
                                  for tyl in ty_])
  return dx, dw


conv_adjoint.defvjp(_conv_adjoint_fwd, _conv_adjoint_bwd)


def layer_specs(g: ml_collections.ConfigDict) -> list[tuple[str, str, int, int, int, int]]:
  """Returns (name, 'T' transposed or 'C' strided, input size, C_in, C_out, kernel) per layer."""
  gk, dk = g.g_kernel_size, g.d_kernel_size
  gw = list(g.g_widths) + [1]
  specs = [(f'G{i + 1} convT {gw[i]}->{gw[i + 1]} @{4 * 2 ** i} k{gk}', 'T', 4 * 2 ** i, gw[i],
            gw[i + 1], gk) for i in range(len(gw) - 1)]
  dw = [1] + list(g.d_widths)
  specs += [(f'D{i + 1} conv {dw[i]}->{dw[i + 1]} @{64 // 2 ** i} k{dk}', 'C', 64 // 2 ** i,
             dw[i], dw[i + 1], dk) for i in range(len(dw) - 1)]
  return specs


def jax_runner(kind: str, k: int, hw: int, cin: int, cout: int, variant: str, n: int):
  """Returns a no-argument function that runs n fwd+bwd steps of the layer in one lax.scan."""
  x = jax.random.normal(jax.random.key(0), (BATCH, hw, hw, cin))
  kern = 0.02 * jax.random.normal(jax.random.key(1), (k, k, cin, cout))
  if variant in ('s2d', 'adjoint'):
    if kind == 'T':
      return None
    fn = conv_s2d if variant == 's2d' else lambda x_, k_: conv_adjoint(x_, k_, 2)   # noqa: E731
    ref = lambda x_, k_: layers.Conv(cout, k, strides=2, use_bias=False).apply(   # noqa: E731
        {'params': {'kernel': k_}}, x_)
    grads = [jax.grad(lambda k_, x_, f_=f_: jnp.sum(jnp.sin(f_(x_, k_))), argnums=(0, 1))(kern, x)
             for f_ in (fn, ref)]
    for a, b in zip(*grads):
      err = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
      if err > 1e-5:
        raise AssertionError(f'{variant}: gradients differ from layers.Conv by {err:.1e}')
  else:
    mod = (layers.ConvTranspose(cout, k, 2, use_bias=False, impl=variant) if kind == 'T'
           else layers.Conv(cout, k, strides=2, use_bias=False, impl=variant))
    fn = lambda x, kern: mod.apply({'params': {'kernel': kern}}, x)   # noqa: E731
  return timers.grads_scan_runner(fn, x, kern, n)


def torch_runner(kind: str, k: int, hw: int, cin: int, cout: int, n: int):
  m = (torch.nn.ConvTranspose2d(cin, cout, k, 2, padding=k // 2, output_padding=1, bias=False)
       if kind == 'T' else torch.nn.Conv2d(cin, cout, k, 2, padding=k // 2, bias=False))
  x = torch.randn(BATCH, cin, hw, hw, requires_grad=True)

  def run():
    for _ in range(n):
      x.grad, m.weight.grad = None, None
      (m(x) ** 2).sum().backward()
  run()
  return run


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--widths', choices=('quick', 'half', 'paper'), default='quick')
  p.add_argument('--variants', default='patches,s2d,adjoint,torch')
  p.add_argument('--n', type=int, default=10, help='steps per timed call')
  p.add_argument('--reps', type=int, default=5)
  p.add_argument('--threads', type=int, default=os.cpu_count())
  p.add_argument('--out', default=None)
  args = p.parse_args()
  args.out = args.out or os.path.join(ROOT, 'benchmarks', f'layers_{args.widths}.json')
  torch.set_num_threads(args.threads)
  g = gan_entries.dcgan_config(args.widths)
  variants = args.variants.split(',')
  print(f'{args.widths} widths G {tuple(g.g_widths)} D {tuple(g.d_widths)}, batch {BATCH}, '
        f'threads {args.threads}; ms per fwd+bwd (median of {args.reps} x {args.n} steps)')
  print(f'{"layer":28s}' + ''.join(f'{v:>10s}' for v in variants))
  rows = []
  for name, kind, hw, cin, cout, k in layer_specs(g):
    runners = {v: (torch_runner(kind, k, hw, cin, cout, args.n) if v == 'torch' else
                   jax_runner(kind, k, hw, cin, cout, v, args.n)) for v in variants}
    times = timers.interleaved_ms(runners, args.reps, args.n)
    ms = {v: round(statistics.median(t), 3) if t else None for v, t in times.items()}
    rows.append({'layer': name, 'kind': kind, 'size_in': hw, 'c_in': cin, 'c_out': cout,
                 'kernel': k, 'ms': ms})
    print(f'{name:28s}' + ''.join(f'{ms[v]:10.2f}' if ms[v] is not None else f'{"-":>10s}'
                                  for v in variants), flush=True)

  def total(v, kinds):   # None where the variant lacks one of the layers summed
    ms = [r['ms'][v] for r in rows if r['kind'] in kinds]
    return None if None in ms else round(sum(ms), 2)
  totals = {'all': {v: total(v, 'TC') for v in variants},
            'strided': {v: total(v, 'C') for v in variants}}
  for key, label in (('all', 'sum, all layers'), ('strided', 'sum, strided (D) layers')):
    print(f'{label:28s}' + ''.join(f'{totals[key][v]:10.2f}' if totals[key][v] is not None
                                   else f'{"-":>10s}' for v in variants))
  out = {'widths': args.widths, 'g_widths': list(g.g_widths), 'd_widths': list(g.d_widths),
         'batch': BATCH, 'n': args.n, 'reps': args.reps, 'threads': args.threads,
         'machine': {'platform': platform.platform(), 'cpu_count': os.cpu_count(),
                     'cpu': provenance.cpu()},
         'versions': {'jax': jax.__version__, 'torch': torch.__version__},
         'xla_flags': os.environ.get('XLA_FLAGS', ''), 'layers': rows, 'sum_ms': totals,
         'date': time.strftime('%Y-%m-%d %H:%M:%S')}
  with open(args.out + '.tmp', 'w') as f:
    json.dump(out, f, indent=2)
  os.replace(args.out + '.tmp', args.out)
  print(f'wrote {args.out}')


if __name__ == '__main__':
  main()
