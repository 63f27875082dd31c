"""Trains the paper's DCGAN, one per class (paper: widths G 1024..128 / D 64..512, 5x5, Adam 2e-4, 70 epochs).

Variants: no suffix = the paper's settings on all the configured data; `:quick` = G at 1/8
widths, D at 1/4, the paper's epochs (11.4 minutes on a 2-core CPU), samples from a moving average
of G's weights (see common.gan_quick); `:smoke` = seconds, for tests. Train on one fold's training
part with --config.gan.fold=k. Writes samples/<class>.png and samples.npz.
"""

from configs import common


def get_config(arg=None):
  return common.gan_job('dcgan', arg)
