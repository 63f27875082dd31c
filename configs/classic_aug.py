"""Classic augmentation: arms none and classic over the paper's sweep of augmented-set sizes.

  python launch.py --config=configs/classic_aug.py:quick --workdir=workdirs/classic_quick

Variants (tables in configs/variants.py):
- no suffix, the paper's protocol (hours on a GPU): classic sizes 500..15,000, 150 epochs.
- `:quick` = QUICK_CLASSIFIER and one classic set of 1,000: 1 seed, 3 folds, 1,200 SGD steps at
  lr 0.01, the paper's classifier widths (32/64/128, dense 500), unlike the narrow classifier of
  dcgan_aug.py:quick, so the two configs' classic arms are different models. Its time on a
  named CPU is not measured yet.
- `:smoke` = SMOKE: seconds, for tests.
"""

from configs import common, variants


def get_config(arg=None):
  common.check_variant(arg)
  c = common.base_config()
  c.arms = ('none', 'classic')
  if arg == 'quick':
    common.apply(c, variants.QUICK_CLASSIFIER)
    c.classic.sizes = (1000,)
  elif arg == 'smoke':
    common.apply(c, variants.SMOKE)
  return c
