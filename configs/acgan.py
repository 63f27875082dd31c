"""Trains the paper's ACGAN, one model for all classes (D 3x3 kernels, dropout 0.5, Adam 1e-4, 50 epochs).

Variants: no suffix = the paper's settings on all the configured data; `:quick` = 1/4 widths,
the paper's epochs (2,350 steps, 12 minutes on a 2-core CPU), D without dropout and lr 2e-4,
samples from a moving average of G's weights (see common.gan_quick); `:smoke` = seconds, for
tests. Train on one fold's training part with --config.gan.fold=k. Writes samples/<class>.png
and samples.npz.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('acgan', arg)
