"""The :quick classifier's step with two forms of the 2x2 max-pool, an interleaved A/B.

  python benchmarks/ab_maxpool.py [--reps=9] [--steps=10]

'reshape+max' is liverjax's ``layers.max_pool_2x2`` (a reshape and a max over each 2x2 block,
which XLA-CPU hands to a YNNPACK reduction); 'pairwise' takes ``jnp.maximum`` of the two rows,
then of the two columns. Each form is traced into its own scanned epoch of --steps train steps
(``benchmarks/bench/classifier.py``); the epochs run alternately --reps times and the medians
are printed in ms per step. Result and verdict: docs/decisions/convolution_lowering.md.
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from benchmarks.bench import classifier as bench_classifier  # noqa: E402
from configs import common, variants  # noqa: E402
from liverjax.models import layers  # noqa: E402


def max_pool_pairwise(x: jax.Array) -> jax.Array:
  """The same function as layers.max_pool_2x2 (but for how a tie's gradient is split)."""
  _, h, w, _ = x.shape
  x = x[:, :h - h % 2, :w - w % 2]
  rows = jnp.maximum(x[:, 0::2], x[:, 1::2])
  return jnp.maximum(rows[:, :, 0::2], rows[:, :, 1::2])


def epoch_runner(pool, steps: int):
  """Returns a function that runs one compiled scanned epoch of the :quick classifier with pool."""
  original = layers.max_pool_2x2
  layers.max_pool_2x2 = pool   # read when the model is traced, below
  try:
    cfg = common.apply(common.base_config(), variants.AUG_QUICK)
    step, state, data = bench_classifier.jax_step(cfg)

    def epoch(state, key):
      def body(s, k):
        s, metrics = step(s, data, k)
        return s, metrics['loss']
      return jax.lax.scan(body, state, jax.random.split(key, steps))
    run = jax.jit(epoch)
    jax.block_until_ready(run(state, jax.random.key(0)))
  finally:
    layers.max_pool_2x2 = original
  return lambda: jax.block_until_ready(run(state, jax.random.key(1)))


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--reps', type=int, default=9)
  p.add_argument('--steps', type=int, default=10)
  args = p.parse_args()
  x = jax.random.normal(jax.random.key(2), (4, 8, 8, 3))
  assert bool((max_pool_pairwise(x) == layers.max_pool_2x2(x)).all()), 'the forms differ'
  runners = {'reshape+max': epoch_runner(layers.max_pool_2x2, args.steps),
             'pairwise': epoch_runner(max_pool_pairwise, args.steps)}
  times = {name: [] for name in runners}
  for _ in range(args.reps):
    for name, run in runners.items():
      t = time.perf_counter()
      run()
      times[name].append((time.perf_counter() - t) / args.steps * 1e3)
  for name, ms in times.items():
    print(f'{name:12s} median {statistics.median(ms):6.1f} ms/step, '
          f'range {min(ms):.1f}-{max(ms):.1f}')


if __name__ == '__main__':
  main()
