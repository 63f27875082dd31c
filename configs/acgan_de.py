"""The GAN job of configs/acgan.py with the data-efficient preset (variants.DATA_EFFICIENT, not in
the paper): DiffAugment (translation, cutout, CT intensity) and R1.

  python launch.py --config=configs/acgan_de.py:quick --workdir=workdirs/acgan_de \
      --config.gan.fold=0

Variants as configs/acgan.py's. `:quick` on phantom version 2, seed 0, fold 0, 2-core AMD EPYC
with AVX-512: 12.5 minutes; feature recall 53 / 36 / 37%, TSTR 57.4% against TRTR 67.2%.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('acgan_de', arg)
