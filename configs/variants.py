"""The `:quick` and `:smoke` variants' settings, as named tables of dotted config keys.

A config file applies the tables of its variant to the paper's settings (configs/common.py:
base_config, gan_config) with :func:`configs.common.apply`; each table's comment says why its
values are what they are, and which decision record under docs/decisions/ chose them. None is
chosen on the reported phantom seed 0.
"""

# ---- :smoke: seconds, for tests only ----------------------------------------------------------
SMOKE = {                          # every experiment: a tiny phantom and classifier
    'estimate': False,             # (timing steps would take longer than the smoke job's)
    'data.phantom.counts': (12, 12, 12),
    'model.features': (4, 8, 8),
    'model.dense': 16,
    'train.epochs': 2,
    'train.batch_size': 16,
    'train.checkpoint_every': 1,
    'classic.sizes': (64,),
}
AUG_SMOKE = {                      # the experiments with GAN arms
    'synthetic.classic_size': 64,
    'synthetic.per_class': (8, 16),
}
GAN_SMOKE = {                      # every GAN: tiny widths, two epochs of a tiny set
    'g_widths': (16, 8, 8, 4),
    'ema_decay': 0.999,            # exercises the EMA generator's path (checkpoint, sampling)
    'augmented_per_class': 32,
    'batch_size': 16,
    'epochs': 2,
    'max_steps': 0,
    'checkpoint_every': 1,
    'samples_per_class': 16,
}
GAN_SMOKE_D_WIDTHS = {'dcgan': (8, 8, 8, 8), 'acgan': (8, 8, 8, 8, 8, 8)}
DIFFUSION_SMOKE = {                # the diffusion model: a two-level U-Net of width 4 on 2x2
    'channels': 4,                 # patches (levels 32 and 16)
    'channel_mult': (1, 2),
    'num_blocks': 1,
    'attn_resolutions': (16,),
    'patch': 2,
    'augmented_per_class': 32,
    'batch_size': 16,
    'epochs': 2,
    'checkpoint_every': 1,
    'samples_per_class': 16,
    'sampler_steps': 2,
}

# ---- :quick: minutes on a laptop CPU ------------------------------------------------------------
# The classifier's budget: one seed, each run capped at 1,200 SGD steps (at most 150 epochs) at
# learning rate 0.01, where the paper trains 150 epochs at 1e-3: the smallest budget tried whose
# classic runs all end above 90% training accuracy on phantom seed 1
# (docs/decisions/quick_classifier_budget.md). The folds, not the seeds, are the intervals' units.
QUICK_CLASSIFIER = {
    'seeds': (0,),
    'train.max_steps': 1200,
    'train.learning_rate': 0.01,
}
# The experiments with GAN arms (the main job, dcgan_aug.py:quick): a narrow classifier, a quarter
# of the paper's FLOPs, for time alone (no record compares it with the paper's widths;
# classic_aug.py:quick and no_aug.py:quick keep the paper's widths, so their classic arm is another
# model), one classic set of 1,000, and 1,000 synthetic images per class, the paper's headline
# size, fixed in advance.
AUG_QUICK = {
    'model.features': (16, 32, 64),
    'model.dense': 128,
    'classic.sizes': (1000,),
    'synthetic.classic_size': 1000,
    'synthetic.per_class': (1000,),
}
# A GAN job's :quick GANs: the paper's epochs at a quarter of D's widths and an eighth of G's (the
# ACGAN's one generator for three classes: a quarter), sampled from an EMA of G's weights (not in
# the paper); the ACGAN without D's dropout and at lr 2e-4 (the paper: 0.5 and 1e-4), without
# which its samples of a class looked alike at these widths (docs/decisions/quick_gans.md).
GAN_QUICK = {
    'dcgan': {'g_widths': (128, 64, 32, 16), 'd_widths': (16, 32, 64, 128), 'ema_decay': 0.999,
              'checkpoint_every': 10, 'samples_per_class': 200},
    'acgan': {'g_widths': (128, 64, 32, 16), 'd_widths': (8, 16, 32, 64, 128, 128),
              'dropout': 0.0, 'learning_rate': 2e-4, 'ema_decay': 0.999,
              'checkpoint_every': 10, 'samples_per_class': 200},
}
# The GAN arms of a :quick experiment, over GAN_QUICK: 400 steps per GAN on 500 classic variants
# per class, the most that keeps the main job near 21 minutes on a 2-core CPU; no weight average,
# which at 120 and 400 steps was less diverse than the trained generator itself
# (docs/decisions/quick_gan_budget.md).
AUG_QUICK_GAN = {
    'max_steps': 400,
    'augmented_per_class': 500,
    'ema_decay': 0.0,
}

# The diffusion model's :quick budget, for its job and its arm alike: a three-level U-Net of width
# 16 (16/32/32 channels, one block a level, 0.30 M weights) on 2x2 patches (levels 32, 16, 8;
# attention at 8x8), dropout 0.25, trained 480 steps (20 epochs of 500 classic variants a class)
# with its weights' EMA, sampled with 12 Heun steps at w = 1. The rule of
# docs/decisions/diffusion_budget.md chose it among 12 candidates (widths 16 and 32, dropout 0.1
# and 0.25, a third and all of the longest training that the cost allows, 12 and 18 Heun steps) on
# phantom seed 1, fold 0: none copied or collapsed, this one had the highest lowest-class feature
# recall (63% of real ROIs') and the lowest C2ST. Its cost, training plus sampling 1,000 a class:
# 2.4 times one fold's quick DCGANs on a 2-core AMD EPYC with AVX-512 (the rule allows 3). Far
# from converged: its samples are told from real ROIs (C2ST AUC 0.86-0.98 on seed 1, 0.80-0.97 on
# seed 0). The same run continued to 4,800 steps (--config.gan.max_steps=0: 200 epochs, 10 times
# the training) reaches C2ST AUC 0.44-0.64 on seed 1, still copying nothing (the record's section on
# training length). The variant without suffix is the one meant for a GPU.
DIFFUSION_QUICK = {
    'channels': 16,
    'channel_mult': (1, 2, 2),
    'num_blocks': 1,
    'attn_resolutions': (8,),
    'patch': 2,
    'dropout': 0.25,
    'augmented_per_class': 500,
    'max_steps': 480,
    'sampler_steps': 12,
    'guidance': 1.0,
    'samples_per_class': 200,      # the job's samples.npz, as GAN_QUICK's; an arm samples its pool
}

# ---- options beyond the paper ----------------------------------------------------------------
# The data-efficient preset (arms and jobs *_de): DiffAugment's translation and cutout and a mild
# CT intensity change on every image D sees, and an R1 penalty of weight 1 (DCGAN: on a
# layer-normalised D, as R1 needs). Chosen on phantom seed 1, fold 0, at the main job's 400-step
# budget, by feature recall and the collapse check (docs/decisions/data_efficient_preset.md).
DATA_EFFICIENT = {
    'dcgan': {'augment': 'translation,cutout,intensity', 'r1_gamma': 1.0, 'd_norm': 'layer'},
    'acgan': {'augment': 'translation,cutout,intensity', 'r1_gamma': 1.0},
}
