"""The GAN job: the paper's ACGAN, one model for all classes (D 3x3 kernels, dropout 0.5, Adam
1e-4, 50 epochs), on all the configured data or on --config.gan.fold=k's training part.

  python launch.py --config=configs/acgan.py:quick --workdir=workdirs/acgan_job --config.gan.fold=0

Writes samples/<class>.png and samples.npz. Variants (tables in configs/variants.py): no suffix,
the paper's settings; `:quick` = GAN_QUICK['acgan']: 1/4 widths, the paper's epochs (2,350
steps), D without dropout at lr 2e-4, sampled from an EMA of G's weights; 9.8 minutes on a 2-core
AMD EPYC with AVX-512. On phantom version 2, seed 0, fold 0: feature recall 65 / 62 / 59% (new
real ROIs: 100 / 88 / 95%), TSTR 62.3% against TRTR 67.2%. `:smoke` =
SMOKE + GAN_SMOKE: seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('acgan', arg)
