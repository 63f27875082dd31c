"""Train on synthetic, test on real (TSTR): arms none, classic and dcgan, plus tstr_dcgan (a
classifier trained on N DCGAN images per class alone, for each N in synthetic.per_class, tested on
each fold's real test ROIs) and trtr (its reference: N x classes classic variants of the real
training ROIs, so as many images and steps).

Variants as in dcgan_aug.py: no suffix = the paper's protocol; `:quick`; `:smoke` = seconds, for
tests. For the ACGAN: common.aug_experiment(('acgan',)) and arms tstr_acgan, trtr.
"""

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan',), arg)
  c.arms = c.arms + ('tstr_dcgan', 'trtr')
  return c
