"""Synthetic augmentation with DCGAN: arms none, classic and dcgan (classic + DCGAN images).

Variants: no suffix = the paper's protocol (classic sweep 500..15,000; classic 5,000 + 100..4,000
DCGAN images per class; GANs with the paper's settings, trained per fold on that fold's training
ROIs); `:quick` = about 21 minutes on a 2-core CPU (see configs/common.py:aug_experiment);
`:smoke` = seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('dcgan',), arg)
