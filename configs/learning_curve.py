"""A learning curve: arms none, classic, dcgan and real at 25%, 50% and 100% of each training
fold's patients (liverjax/experiment/curve_job.py), plotted with intervals in learning_curve.md.

  python launch.py --config=configs/learning_curve.py:quick --workdir=workdirs/curve_quick

At a share f each GAN trains on the kept ROIs only, and the images added per class
(synthetic.per_class) and the oracle's fresh ROIs (oracle.rois_per_class) are f times the
configured ones (curve.scale_added); classic set sizes stay. Variants as configs/dcgan_aug.py's
at each share; `:smoke` runs shares 50% and 100%. `:quick` takes about 25 minutes per share on a
2-core AMD EPYC with AVX-512 (75 in all); on phantom version 2, seed 0, real - classic is +1.1,
+7.7 and +8.2 points at the three shares and dcgan - classic -7.7, +1.1 and -2.2
(benchmarks/learning_curve_quick/). The real arm needs the phantom; on other data leave it out:
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
