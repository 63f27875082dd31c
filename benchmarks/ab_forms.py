"""Interleaved A/Bs of forms not kept (docs/decisions/convolution_lowering.md has the verdicts).

  python benchmarks/ab_forms.py --form=maxpool [--reps=9] [--steps=10]
  python benchmarks/ab_forms.py --form=chunks [--reps=5] [--steps=10]

--form=maxpool: the :quick classifier's step with two forms of the 2x2 max-pool. 'reshape+max'
is liverjax's ``layers.max_pool_2x2`` (a reshape and a max over each 2x2 block, which XLA-CPU
hands to a YNNPACK reduction); 'pairwise' takes ``jnp.maximum`` of the two rows, then of the two
columns. Each form is traced into its own epoch of --steps train steps (the entry of
``benchmarks/bench/classifier.py``, scanned by ``epochs.train_epoch`` as training runs it:
``bench/timers.epoch_runner``).

--form=chunks: one convolution as liverjax computes it (a patch matrix and one matmul), forward
and both gradients of sum(y^2) under ``lax.scan`` of --steps steps (``bench/timers.
grads_scan_runner``, as ``benchmarks/layers.py`` times a layer), with the batch of 64 whole or
cut into 4, 8 or 16 chunks by ``lax.map`` (each chunk's patch matrix small enough to stay in
cache), for the :quick classifier's second and third convolutions and the :quick
discriminator's second.

The variants run alternately --reps times (``bench/timers.interleaved_ms``); medians are
printed in ms per step.
"""

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from benchmarks.bench import classifier as bench_classifier, timers  # noqa: E402
from configs import common, variants  # noqa: E402
from liverjax.models import conv_ops, layers  # noqa: E402


def max_pool_pairwise(x: jax.Array) -> jax.Array:
  """The same function as layers.max_pool_2x2 (but for how a tie's gradient is split)."""
  _, h, w, _ = x.shape
  x = x[:, :h - h % 2, :w - w % 2]
  rows = jnp.maximum(x[:, 0::2], x[:, 1::2])
  return jnp.maximum(rows[:, :, 0::2], rows[:, :, 1::2])


def pooled_classifier_runner(pool, steps: int):
  """Returns a function that runs one compiled scanned epoch of the :quick classifier with pool."""
  original = layers.max_pool_2x2
  layers.max_pool_2x2 = pool   # read when the model is traced, in timers.epoch_runner's first call
  try:
    cfg = common.apply(common.base_config(), variants.AUG_QUICK)
    step, state, data = bench_classifier.jax_step(cfg)
    return timers.epoch_runner(step, state, data, jax.random.key(1), steps)
  finally:
    layers.max_pool_2x2 = original


def conv(x: jax.Array, w: jax.Array, stride: int, chunks: int) -> jax.Array:
  """'SAME' convolution as layers.Conv computes it, over the batch whole or in chunks."""
  k, cin, cout = w.shape[0], w.shape[2], w.shape[3]

  def one(xc):
    return conv_ops.patch_matmul(conv_ops.extract_patches(xc, k, stride),
                                 w.reshape(k * k * cin, cout))
  if chunks == 1:
    return one(x)
  ys = jax.lax.map(one, x.reshape(chunks, x.shape[0] // chunks, *x.shape[1:]))
  return ys.reshape(x.shape[0], *ys.shape[2:])


def conv_runner(shape, k: int, cout: int, stride: int, chunks: int, steps: int):
  """Returns a function that runs one compiled scan of forward + both gradients."""
  x = jax.random.normal(jax.random.key(0), shape)
  w = jax.random.normal(jax.random.key(1), (k, k, shape[-1], cout)) * 0.05
  return timers.grads_scan_runner(lambda x, w: conv(x, w, stride, chunks), x, w, steps)


CHUNK_LAYERS = (('classifier conv 2, 3x3 16->32 @32', (64, 32, 32, 16), 3, 32, 1),
                ('classifier conv 3, 3x3 32->64 @16', (64, 16, 16, 32), 3, 64, 1),
                ('discriminator D2, 5x5/2 16->32 @32', (64, 32, 32, 16), 5, 32, 2))


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--form', choices=('maxpool', 'chunks'), default='maxpool')
  p.add_argument('--reps', type=int, default=9)
  p.add_argument('--steps', type=int, default=10)
  args = p.parse_args()
  if args.form == 'chunks':
    for name, shape, k, cout, stride in CHUNK_LAYERS:
      x = jax.random.normal(jax.random.key(3), shape)
      w = jax.random.normal(jax.random.key(4), (k, k, shape[-1], cout))
      assert jnp.allclose(conv(x, w, stride, 4), conv(x, w, stride, 1), atol=1e-4), name
      runners = {f'chunks={c}': conv_runner(shape, k, cout, stride, c, args.steps)
                 for c in (1, 4, 8, 16)}
      times = timers.interleaved_ms(runners, args.reps, args.steps)
      print(f'{name:36s}' + '  '.join(f'{c} {statistics.median(ms):6.1f}'
                                      for c, ms in times.items()), flush=True)
    return
  x = jax.random.normal(jax.random.key(2), (4, 8, 8, 3))
  assert bool((max_pool_pairwise(x) == layers.max_pool_2x2(x)).all()), 'the forms differ'
  runners = {'reshape+max': pooled_classifier_runner(layers.max_pool_2x2, args.steps),
             'pairwise': pooled_classifier_runner(max_pool_pairwise, args.steps)}
  for name, ms in timers.interleaved_ms(runners, args.reps, args.steps).items():
    print(f'{name:12s} median {statistics.median(ms):6.1f} ms/step, '
          f'range {min(ms):.1f}-{max(ms):.1f}')


if __name__ == '__main__':
  main()
