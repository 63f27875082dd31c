"""Trains the DCGAN per class with the data-efficient options (not in the paper): DiffAugment
(translation, cutout, CT intensity) and R1 on a layer-normalised discriminator
(configs/common.py:data_efficient). Otherwise as configs/dcgan.py, with the same
variants (`:quick`, `:smoke`) and --config.gan.fold=k.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('dcgan_de', arg)
