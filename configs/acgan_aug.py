"""Synthetic augmentation with the paper's ACGAN: arms none, classic and acgan.

  python launch.py --config=configs/acgan_aug.py:quick --workdir=workdirs/acgan_quick

As configs/dcgan_aug.py, with one ACGAN per fold for all classes (GAN_QUICK['acgan'] +
AUG_QUICK_GAN at `:quick`: 384 steps, 16 whole epochs of 1,500 variants under the 400-step cap).
`:quick` on phantom version 2, seed 0, 2-core AMD EPYC with AVX-512: classic 70.8%, acgan 70.8%
(-0.0 points [-10.8, +10.8]); its six GANs (with acgan_de's) trained in 11.1 minutes.
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('acgan',), arg)
