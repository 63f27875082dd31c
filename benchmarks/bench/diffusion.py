"""The diffusion entries: the diffusion arm's train step as liverjax trains it
(``steps.diffusion.train_step``: EDM's weighted denoising loss through the class-conditional U-Net,
one Adam update and the weights' EMA), at the `:quick` budget's U-Net and at the full variant's;
their JAX step is built by gan.jax_step.

No _bf16 or _xla variants: the U-Net has no matmul_dtype setting, and its conv_impl='xla' form
is far slower on a CPU (docs/decisions/diffusion_budget.md)."""

from __future__ import annotations

from benchmarks.bench.harness import Entry
from configs import common


def entries() -> list[Entry]:
  """Returns the `:quick` U-Net (configs/variants.py DIFFUSION_QUICK) and the full variant's
  (configs/common.py diffusion_config; several seconds a step on a CPU: name it with --only)."""
  quick = common.gan_quick(common.gan_config('diffusion'))
  full = common.gan_config('diffusion')
  return [
      Entry('diffusion_quick', f'EDM U-Net, :quick (width {quick.channels} x '
            f'{tuple(quick.channel_mult)}, {quick.patch}x{quick.patch} patches), Adam + EMA',
            'diffusion', quick, 3),
      Entry('diffusion', f'EDM U-Net, full variant (width {full.channels} x '
            f'{tuple(full.channel_mult)}, {full.num_blocks} blocks a level), Adam + EMA',
            'diffusion', full, 3),
  ]
