"""All four arms: none, classic, dcgan and acgan (classic + DCGAN, classic + ACGAN images).

Variants as in dcgan_aug.py: no suffix = the paper's protocol; `:quick` (about twice the time of
dcgan_aug.py:quick); `:smoke` = seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('dcgan', 'acgan'), arg)
