"""The paper's DCGAN beside the same DCGAN with data-efficient options: arms none, classic, dcgan
and dcgan_de (configs/common.py:data_efficient), on the same folds, sizes and seeds, paired.

Variants as in dcgan_aug.py: no suffix = the paper's protocol; `:quick` (the dcgan_aug.py:quick
budget, every GAN trained the same number of steps); `:smoke` = seconds, for tests. Add the
ACGANs with --config.arms="('none','classic','dcgan','dcgan_de','acgan','acgan_de')" after
setting config.acgan and config.acgan_de the way this file sets the DCGANs' (or use
configs.common.aug_experiment in your own config).
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('dcgan', 'dcgan_de'), arg)
