"""The GAN entries: the DCGAN at the paper's widths, half of them and the :quick ones, and the
ACGAN, each as liverjax trains it (``steps.gan.train_step``: one D and one G update)."""

from __future__ import annotations

import functools

import jax
import ml_collections

from benchmarks.bench.harness import BATCH, Entry
from configs import common
from liverjax.experiment import builders, gan_trainer


def jax_step(gcfg, num_classes: int, batch: int = BATCH):
  """Returns (step_fn, state, batch) of the generator config gcfg: a GAN's, or for kind
  'diffusion' the U-Net's (benchmarks/bench/diffusion.py)."""
  setup = builders.make_gan_setup(gcfg, num_classes)
  steps = gan_trainer.steps_of(setup)
  state = steps.init_state(setup, jax.random.key(0))
  data = {'image': jax.random.uniform(jax.random.key(1), (batch, 64, 64, 1)),
          'label': jax.random.randint(jax.random.key(2), (batch,), 0, num_classes)}
  return functools.partial(steps.train_step, setup=setup), state, data


def dcgan_config(widths: str) -> ml_collections.ConfigDict:
  """Returns the DCGAN config at the paper's widths ('paper'), half of them ('half'), or the
  :quick variant's ('quick': configs.variants.GAN_QUICK)."""
  g = common.gan_config('dcgan')
  if widths == 'half':
    g.g_widths = tuple(w // 2 for w in g.g_widths)
    g.d_widths = tuple(w // 2 for w in g.d_widths)
  elif widths == 'quick':
    g = common.gan_quick(g)
  elif widths != 'paper':
    raise ValueError(f'widths={widths!r}: expected paper, half or quick')
  return g


def entries() -> list[Entry]:
  """Returns the DCGAN at three widths and the paper's ACGAN."""
  quick = dcgan_config('quick')
  quick.ema_decay = 0.0   # the weight average is not part of the PyTorch step
  return [
      Entry('dcgan', 'DCGAN, paper widths G 1024 / D 512, D+G update', 'gan',
            dcgan_config('paper'), 1),
      Entry('dcgan_half', 'DCGAN, half widths G 512 / D 256, D+G update', 'gan',
            dcgan_config('half'), 1),
      Entry('dcgan_quick', f'DCGAN, :quick widths G {quick.g_widths[0]} / D '
            f'{quick.d_widths[-1]}, D+G update', 'gan', quick, 1),
      Entry('acgan', 'ACGAN (G 512, D 32..512 3x3, 3 classes), D+G update', 'gan',
            common.gan_config('acgan'), 3),
  ]
