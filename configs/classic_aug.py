"""Classic augmentation: arms 'none' and 'classic' (the paper's sweep of augmented-set sizes).

Variants: ``classic_aug.py`` = the paper's protocol (sizes 500..15000, 150 epochs; hours on a GPU);
``:quick`` = about 10 minutes on a 2-core CPU (classic set of 1000, common.quick_classifier's
budget: 1,200 SGD steps at learning rate 0.01, 3 folds x 1 seed); ``:smoke`` = seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  c = common.base_config()
  c.arms = ('none', 'classic')
  if arg == 'quick':
    c = common.quick_classifier(c)
    c.classic.sizes = (1000,)
  elif arg == 'smoke':
    c = common.smoke(c)
  elif arg:
    raise ValueError(f'unknown variant {arg!r}: use smoke, quick or nothing')
  return c
