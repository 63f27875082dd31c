"""The main job: synthetic augmentation with the paper's DCGAN, arms none, classic and dcgan.

  python launch.py --config=configs/dcgan_aug.py:quick --workdir=workdirs/dcgan_quick

none trains on the fold's real ROIs as they are; classic on a classic augmented set; dcgan on
the same classic images plus images of DCGANs trained per class on the fold's training ROIs only.

Variants (tables in configs/variants.py, applied by common.aug_experiment):
- no suffix, the paper's protocol (for a GPU): classic sweep 500..15,000; classic 5,000 +
  100..4,000 DCGAN images per class; paper-width DCGANs, 70 epochs; 3 folds x 1 seed.
- `:quick` = QUICK_CLASSIFIER + AUG_QUICK, each DCGAN at GAN_QUICK['dcgan'] + AUG_QUICK_GAN:
  1 seed, 3 folds; a narrow classifier (features 16/32/64, dense 128: a quarter of the paper's
  FLOPs) for 1,200 SGD steps at lr 0.01; classic 1,000; + 1,000 DCGAN images per class; DCGANs at
  G 128..16 / D 16..128, 400 steps on 500 variants per class, no weight average.
  21 minutes on a 2-core AMD EPYC with AVX-512, 34 on a 2-core AMD EPYC with AVX2 only.
  Accuracy on phantom version 2, seed 0, 2-core EPYC with AVX-512: none 62.7%, classic 70.8%,
  dcgan 68.6% (dcgan - classic -2.2 points [-15.7, +11.3], corrected for shared training ROIs;
  it could detect 16.9 points); the AVX2-only EPYC gives classic 68.1%, dcgan 74.2% (+6.1
  [-31.1, +43.3]): three folds of 182 ROIs cannot tell these apart.
- `:smoke` = SMOKE + AUG_SMOKE, GAN_SMOKE: seconds, for tests.
"""

from configs import common


def get_config(arg=None):
  return common.aug_experiment(('dcgan',), arg)
