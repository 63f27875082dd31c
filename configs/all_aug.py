"""Every arm: none, classic, dcgan, acgan (classic + DCGAN / ACGAN images) and real (classic +
fresh phantom ROIs from new patients: the oracle, what a perfect generator would give).

Variants as in dcgan_aug.py: no suffix = the paper's protocol; `:quick` (about twice the time of
dcgan_aug.py:quick); `:smoke` = seconds, for tests. The real arm needs the phantom
(data.source=phantom); on other data, leave it out:
--config.arms="('none','classic','dcgan','acgan')".
"""

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan', 'acgan'), arg)
  c.arms = c.arms + ('real',)
  return c
