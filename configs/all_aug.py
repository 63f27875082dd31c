"""Every arm: none, classic, dcgan, acgan and real (classic + fresh phantom ROIs from new
patients: the oracle, what a perfect generator would give).

  python launch.py --config=configs/all_aug.py:quick --workdir=workdirs/all_quick

Variants as configs/dcgan_aug.py's, with the ACGAN arm as configs/acgan_aug.py's; `:quick` takes
about twice dcgan_aug.py:quick's time. The real arm needs the phantom (data.source=phantom); on
other data leave it out: --config.arms="('none','classic','dcgan','acgan')".
"""

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan', 'acgan'), arg)
  c.arms = c.arms + ('real',)
  return c
