"""The diffusion job (not in the paper): one class-conditional EDM diffusion model for all
classes (models/unet.py, steps/diffusion.py), on all the configured data or on
--config.gan.fold=k's training part, trained on the same classic variants as the GANs.

  python launch.py --config=configs/diffusion.py --workdir=workdirs/diffusion_job --config.gan.fold=0

Writes samples/<class>.png and samples.npz, as the GAN jobs do, so tools/quality, tools/sample,
tools/turing and the report read it unchanged. Variants: no suffix (configs/common.py
diffusion_config), a U-Net of widths 64/128/128/128 with two blocks a level and attention at 8x8
(9.6 million weights) for 200 epochs, sampled with EDM's 40 Heun steps: meant for a GPU, not yet
timed on one; `:quick` = DIFFUSION_QUICK (configs/variants.py): a U-Net of width 16 on 2x2
patches, 480 steps, 12 Heun steps, chosen by the rule of docs/decisions/diffusion_budget.md on
phantom seed 1 (the reported runs use seed 0); far from converged; `:smoke` = SMOKE +
DIFFUSION_SMOKE: seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('diffusion', arg)
