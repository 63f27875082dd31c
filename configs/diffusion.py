"""The diffusion job (not in the paper): one class-conditional EDM diffusion model for all
classes (models/unet.py, steps/diffusion.py), on all the configured data or on
--config.gan.fold=k's training part, trained on the same classic variants as the GANs.

  python launch.py --config=configs/diffusion.py --workdir=workdirs/diffusion_job --config.gan.fold=0

Writes samples/<class>.png and samples.npz, as the GAN jobs do, so tools/quality, tools/sample,
tools/turing and the report read it unchanged. Variants: no suffix (configs/common.py
diffusion_config), a U-Net of widths 64/128/128/128 with two blocks a level and attention at 8x8
(9.6 million weights) for 200 epochs, sampled with EDM's 40 Heun steps: meant for a GPU, not yet
timed on one; `:smoke` = SMOKE + DIFFUSION_SMOKE: seconds, for tests. `:quick` is refused until
its budget has been chosen by the rule of docs/decisions/diffusion_budget.md, on a phantom seed
the reported runs do not use.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('diffusion', arg)
