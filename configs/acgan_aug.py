"""Synthetic augmentation with ACGAN: arms none, classic and acgan (classic + ACGAN images).

Variants: no suffix = the paper's protocol (classic sweep 500..15,000; classic 5,000 + 100..4,000
ACGAN images per class; GANs with the paper's settings, trained per fold on that fold's training
ROIs); `:quick` = dcgan_aug.py:quick's classifier budget, one ACGAN per fold (see
configs/common.py:aug_experiment); `:smoke` = seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('acgan',), arg)
