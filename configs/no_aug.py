"""The paper's baseline: the classifier on the real training ROIs only (arm 'none').

Variants: ``no_aug.py`` = the paper's protocol (150 epochs, 3 folds); ``:quick`` = a few minutes on
a 2-core CPU (3 folds x 1 seed, 150 epochs of 2 steps each at common.quick_classifier's learning
rate); ``:smoke`` = seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  c = common.base_config()
  c.arms = ('none',)
  if arg == 'quick':
    c = common.quick_classifier(c)
  elif arg == 'smoke':
    c = common.smoke(c)
  elif arg:
    raise ValueError(f'unknown variant {arg!r}: use smoke, quick or nothing')
  return c
