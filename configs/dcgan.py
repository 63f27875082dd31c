"""The GAN job: the paper's DCGAN, one per class (G widths 1024..128, D 64..512, 5x5 kernels,
Adam 2e-4, 70 epochs), on all the configured data or on --config.gan.fold=k's training part.

  python launch.py --config=configs/dcgan.py:quick --workdir=workdirs/dcgan_job --config.gan.fold=0

Writes samples/<class>.png and samples.npz; judge them with python -m liverjax.tools.quality.
Variants (tables in configs/variants.py): no suffix, the paper's settings; `:quick` =
GAN_QUICK['dcgan']: G at 1/8 widths, D at 1/4, the paper's epochs (1,120 steps per class GAN),
sampled from an EMA of G's weights; 11.7 minutes on a 2-core AMD EPYC with AVX-512. On phantom
version 2, seed 0, fold 0: feature recall cyst / metastasis / hemangioma 85 / 76 / 80% (new real
ROIs: 100 / 88 / 95%), TSTR 63.9% against TRTR 67.2%. `:smoke` = SMOKE +
GAN_SMOKE: seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('dcgan', arg)
