"""What each data-efficient GAN option costs per training step.

python benchmarks/gan_options.py [--kind=dcgan|acgan] [--widths=quick|paper] [--steps=10]

Times one jitted ``steps.gan.train_step`` (one D and one G update, batch 64) of the paper's GAN
and of the same GAN with each option of ``configs/variants.py: DATA_EFFICIENT`` added one at a time,
then all together; writes benchmarks/gan_options_<kind>_<widths>.json.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time

from absl import app, flags
import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from configs import common  # noqa: E402
from liverjax.experiment import builders  # noqa: E402
from liverjax.steps import gan  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum('kind', 'dcgan', ['dcgan', 'acgan'], 'GAN.')
flags.DEFINE_enum('widths', 'quick', ['quick', 'paper'], 'The :quick or the paper widths.')
flags.DEFINE_integer('steps', 10, 'Timed steps per variant (after one to compile).')


def variants(kind: str, widths: str) -> dict:
  """Returns {name: config.gan}: the paper's, each option alone, all of data_efficient()."""
  def base():
    g = common.gan_config(kind)
    return common.gan_quick(g) if widths == 'quick' else g
  out = {'paper': base()}
  de = common.data_efficient(base())
  norm = {'d_norm': de.d_norm} if kind == 'dcgan' else {}
  for name, change in [('augment', {'augment': de.augment}),
                       ('r1', {'r1_gamma': de.r1_gamma, **norm}),
                       ('d_norm', norm),
                       ('resize', {'g_upsample': de.g_upsample}),
                       ('ada', {'augment': de.augment, 'ada_target': 0.6})]:
    if change:
      g = base()
      g.update(change)
      out[name] = g
  out['data_efficient'] = de
  return out


def time_step(gcfg, steps: int) -> float:
  """Returns the mean seconds of one train step of gcfg's GAN."""
  setup = builders.make_gan_setup(gcfg, 3)
  state = gan.init_state(setup, jax.random.key(0))
  batch = {'image': jax.random.uniform(jax.random.key(1), (64, 64, 64, 1)),
           'label': jnp.arange(64) % 3}
  step = jax.jit(functools.partial(gan.train_step, setup=setup))
  state, _ = step(state, batch, jax.random.key(2))
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(steps):
    state, _ = step(state, batch, jax.random.key(2))
  jax.block_until_ready(state)
  return (time.perf_counter() - start) / steps


def main(_):
  results = {}
  for name, gcfg in variants(FLAGS.kind, FLAGS.widths).items():
    ms = 1000 * time_step(gcfg, FLAGS.steps)
    results[name] = {'ms_per_step': round(ms, 1)}
    print(f'{name:15s} {ms:8.1f} ms/step', flush=True)
  paper = results['paper']['ms_per_step']
  for r in results.values():
    r['x_paper'] = round(r['ms_per_step'] / paper, 2)
  out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     f'gan_options_{FLAGS.kind}_{FLAGS.widths}.json')
  with open(out, 'w') as f:
    json.dump({'backend': jax.default_backend(), 'devices': str(jax.devices()),
               'steps': FLAGS.steps, 'results': results}, f, indent=1)
  print('wrote', out)


if __name__ == '__main__':
  app.run(main)
