"""Trains the ACGAN with the data-efficient options (not in the paper): DiffAugment (translation,
cutout, CT intensity) and R1 (configs/common.py:data_efficient). Otherwise as configs/acgan.py,
with the same variants.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('acgan_de', arg)
