"""The diffusion arm beside the paper's DCGAN: arms none, classic, dcgan, diffusion (classic +
images of one class-conditional EDM diffusion model per fold, trained on the fold's training ROIs
only) and real (the oracle: classic + fresh phantom ROIs from new patients).

  python launch.py --config=configs/diffusion_aug.py --workdir=workdirs/diffusion_aug

Variants as configs/dcgan_aug.py's, the diffusion model at configs/common.py diffusion_config;
`:quick` the main job's budgets with the diffusion model at DIFFUSION_QUICK (configs/variants.py;
docs/decisions/diffusion_budget.md: training and sampling its pool of 1,000 a class at most 3
times one fold's quick DCGANs); `:smoke` (SMOKE + AUG_SMOKE, GAN_SMOKE and DIFFUSION_SMOKE):
seconds, for tests. The real arm needs the phantom (data.source=phantom); on
other data leave it out: --config.arms="('none','classic','dcgan','diffusion')".
"""

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan', 'diffusion'), arg)
  c.arms = c.arms + ('real',)
  return c
