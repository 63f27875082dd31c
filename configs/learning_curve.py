"""A learning curve: arms none, classic, dcgan and real at 25%, 50% and 100% of each training
fold's patients (liverjax/experiment/curve_job.py), plotted with intervals in learning_curve.md.

At a share f, each GAN trains on the kept ROIs only, and the images added per class
(synthetic.per_class) and the oracle's fresh ROIs (oracle.rois_per_class) are f times the
configured ones (curve.scale_added); classic set sizes stay. Variants: no suffix = the paper's
protocol at each share (for a GPU); `:quick` = dcgan_aug.py:quick and the real arm at each
share (about three times dcgan_aug.py:quick);
`:smoke` = seconds, for tests. The real arm needs the phantom; on other data leave it out:
--config.arms="('none','classic','dcgan')".
"""

import ml_collections

from configs import common


def get_config(arg=None):
  c = common.aug_experiment(('dcgan',), arg)
  c.job = 'learning_curve'
  c.arms = c.arms + ('real',)
  c.curve = ml_collections.ConfigDict()
  c.curve.fractions = (0.25, 0.5, 1.0)
  c.curve.scale_added = True
  if arg == 'smoke':
    c.curve.fractions = (0.5, 1.0)
  return c
