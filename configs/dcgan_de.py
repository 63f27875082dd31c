"""The GAN job of configs/dcgan.py with the data-efficient preset (variants.DATA_EFFICIENT, not in
the paper): DiffAugment (translation, cutout, CT intensity) and R1 on a layer-normalised D.

  python launch.py --config=configs/dcgan_de.py:quick --workdir=workdirs/dcgan_de \
      --config.gan.fold=0

Variants as configs/dcgan.py's. `:quick` on phantom version 2, seed 0, fold 0, 2-core AMD EPYC
with AVX-512: 15.6 minutes (with R1's former second forward pass); feature recall 75 / 51 / 34%,
TSTR 50.8% against TRTR 67.2%: worse than the paper's DCGAN at this budget.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('dcgan_de', arg)
