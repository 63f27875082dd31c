"""The paper's baseline: the classifier on the real training ROIs only (arm none).

  python launch.py --config=configs/no_aug.py:quick --workdir=workdirs/none_quick

Variants (tables in configs/variants.py): no suffix, the paper's protocol (150 epochs, 3 folds);
`:quick` = QUICK_CLASSIFIER at the paper's widths (150 epochs of 2 steps each at lr 0.01, 1 seed,
3 folds; its time on a named CPU is not measured yet). `:smoke` = SMOKE: seconds, for tests.
"""

from configs import common, variants


def get_config(arg=None):
  common.check_variant(arg)
  c = common.base_config()
  c.arms = ('none',)
  if arg == 'quick':
    common.apply(c, variants.QUICK_CLASSIFIER)
  elif arg == 'smoke':
    common.apply(c, variants.SMOKE)
  return c
