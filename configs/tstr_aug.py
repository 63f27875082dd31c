"""Train on synthetic, test on real (TSTR): arms none, classic, dcgan, tstr_dcgan (a classifier
trained on N DCGAN images per class alone, for each N in synthetic.per_class, tested on each
fold's real test ROIs) and trtr (its reference: N x classes classic variants of the real training
ROIs, so as many images and steps).

  python launch.py --config=configs/tstr_aug.py:quick --workdir=workdirs/tstr_quick

Variants as configs/dcgan_aug.py's. For the ACGAN: common.aug_experiment(('acgan',), arg) and arms
tstr_acgan, trtr.
"""

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan',), arg)
  c.arms = c.arms + ('tstr_dcgan', 'trtr')
  return c
