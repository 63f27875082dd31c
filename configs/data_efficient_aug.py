"""The paper's DCGAN beside the same DCGAN with the data-efficient preset (variants.
DATA_EFFICIENT: DiffAugment and R1), arms none, classic, dcgan and dcgan_de, paired.

  python launch.py --config=configs/data_efficient_aug.py:quick --workdir=workdirs/de_quick

Variants as configs/dcgan_aug.py's; every GAN trains the same number of steps. `:quick` on phantom
version 2, seed 0, 2-core AMD EPYC with AVX-512: dcgan 68.6%, dcgan_de 70.3% beside classic 70.8%
(dcgan_de - dcgan +1.7 points [-13.0, +16.4]); at 400 steps all six metastasis and hemangioma
dcgan_de generators collapse. For the ACGANs: common.aug_experiment(('acgan', 'acgan_de'), arg).
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('dcgan', 'dcgan_de'), arg)
