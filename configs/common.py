"""The paper's settings, which every config file starts from, and the helpers that build a variant.

base_config() is the paper's protocol on the embedded phantom and gan_config(kind) the paper's
GANs; a config file's `:quick` and `:smoke` variants apply the named tables of configs/variants.py
to them with :func:`apply`. Every key is commented here; unknown keys are refused on the command
line.
"""

import ml_collections

from configs import variants


def base_config() -> ml_collections.ConfigDict:
  """Returns the paper's protocol on the embedded phantom (override per file and variant)."""
  c = ml_collections.ConfigDict()
  c.seeds = (0,)                 # classifier seeds; every (seed, fold) is one run
  c.folds = 3                    # k-fold cross-validation, grouped by patient/lesion
  c.split_seed = 0               # the folds are the same for every seed and arm
  c.cv = ml_collections.ConfigDict()
  c.cv.repeats = 1               # R partitions into k folds (each from its own seed; the first
                                 # is split_seed's): kR splits, intervals by the corrected t
                                 # (evaluation/inference.py); repeats narrow them only so far
  c.num_devices = 0              # 0 = all devices; the mesh is 1-D ('data',)
  c.overwrite = False            # True: empty a workdir that holds another config's run first
  c.progress = True              # progress bars on stderr
  c.estimate = True              # before training: the plan and its time from timed steps

  c.data = ml_collections.ConfigDict()
  c.data.source = 'phantom'      # phantom | folder | npz | tfds
  c.data.path = ''               # folder root, .npz file, or TFDS name for tfds
  c.data.tfds_data_dir = ''      # TFDS data_dir ('' = TFDS default)
  c.data.fraction = 1.0          # share of each training fold's patients kept, per class (test
                                 # folds unchanged; GANs train on the kept ROIs only)
  c.data.phantom = ml_collections.ConfigDict()
  c.data.phantom.counts = (53, 64, 65)   # cyst, metastasis, hemangioma (the paper's counts)
  c.data.phantom.seed = 0
  c.data.phantom.version = 2             # 2: calibrated to the paper's regime and real CT texture
                                         # (docs/decisions/phantom_v2.md); 1: the earlier phantom
  # The phantom's knobs; -1: the version's value (datasets/phantom.py VERSIONS).
  c.data.phantom.noise_hu = -1.0         # CT noise (HU std; version 2: 13, version 1: 18)
  c.data.phantom.contrast = -1.0         # scales lesion-vs-liver contrast (0.85 / 1.0)
  c.data.phantom.overlap = -1.0          # share of atypical metastases / hemangiomas (0.4 / 0.25)
  c.data.phantom.edge = -1.0             # fraction of ROIs at the liver's edge (0.5 / 0)
  c.data.phantom.variety = -1.0          # fraction of lesions in a less common form (0.5 / 0)

  c.augment = ml_collections.ConfigDict()
  c.augment.scale_range = (0.85, 1.15)   # zoom range of the 5 scalings (not in the paper's text)
  c.augment.shift_cap_px = 4.0           # translation bound min(4 px, 0.1 x diameter)
  c.augment.default_diameter_px = 40.0   # used where the data set gives no lesion diameter

  c.arms = ('none',)
  c.classic = ml_collections.ConfigDict()
  c.classic.sizes = (500, 1000, 2000, 3000, 5000, 7500, 10000, 15000)   # the paper's sweep
  c.classic.online = False               # also a fresh random variant of every batch

  c.synthetic = ml_collections.ConfigDict()   # GAN arms (dcgan_aug.py, acgan_aug.py)
  c.synthetic.classic_size = 5000        # the classic set that synthetic images are added to
  c.synthetic.per_class = (100, 500, 1000, 2000, 3000, 4000)   # the paper's sweep
  c.synthetic.gan_seed = 0               # GANs are trained once per fold with this seed
  c.synthetic.quality = True             # judge every pool beside real data (results.json
                                         # synthetic_quality; evaluation/quality.py)

  c.oracle = ml_collections.ConfigDict()   # arm 'real': fresh phantom ROIs instead of GAN images
  c.oracle.rois_per_class = 1000         # fresh ROIs per class and fold (at most the images added)
  c.oracle.seed_offset = 3000            # their phantom seed: data seed + offset + fold (new
                                         # patients; tools/class_fidelity uses +1000 and +2000)

  c.model = ml_collections.ConfigDict()
  c.model.features = (32, 64, 128)       # not in the paper's text (its Fig. 2)
  c.model.kernel_size = 3
  c.model.dense = 500
  c.model.dropout = 0.5
  c.model.matmul_dtype = 'float32'       # 'bfloat16': mixed-precision convolutions
                                         # (benchmarks/README.md, Mixed precision)
  c.model.conv_impl = 'auto'             # convolutions as 'patches' (patch matrix + matmul) or
                                         # 'xla' (XLA's own: cuDNN on a GPU); 'auto' = the faster
                                         # on this backend (experiment/builders.py)

  c.train = ml_collections.ConfigDict()
  c.train.epochs = 150
  c.train.max_steps = 0                  # >0: cap each run at this many steps (>= 1 epoch)
  c.train.batch_size = 64
  c.train.learning_rate = 1e-3
  c.train.momentum = 0.9
  c.train.nesterov = True
  c.train.log_every = 1                  # epochs between TensorBoard scalars
  c.train.checkpoint_every = 10          # epochs between checkpoints
  c.train.vmap_folds = False             # True: the folds of each (arm, size, seed) train at once,
                                         # vmapped (for GPUs, where a batch-64 step uses little of
                                         # one; benchmarks/README.md)
  return c


def diffusion_config() -> ml_collections.ConfigDict:
  """Returns config.gan for the diffusion arm (not in the paper): EDM (Karras et al. 2022) with a
  class-conditional U-Net at a width meant for a GPU (steps/diffusion.py, models/unet.py)."""
  g = ml_collections.ConfigDict()
  g.kind = 'diffusion'
  g.fold = -1                     # as a GAN's: -1 all data; k: the training part of fold k
  g.augmented_per_class = 1000    # classic variants per class it trains on, as a GAN's
  g.batch_size = 64
  g.learning_rate = 2e-4          # Adam (0.9, 0.999); 200 epochs: 47 steps each for 3 classes
  g.epochs = 200
  g.max_steps = 0                 # >0: cap training at this many steps (>= 1 epoch)
  g.checkpoint_every = 10         # epochs
  g.samples_per_class = 1000      # written to samples.npz
  g.collapse_ratio = 0.5          # the GANs' diversity check
  g.ema_decay = 0.999             # samples come from an EMA of the weights
  g.conv_impl = 'auto'            # as config.model.conv_impl
  g.channels = 64                 # U-Net widths: channels x channel_mult, one per level
  g.channel_mult = (1, 2, 2, 2)   # (64 -> 32 -> 16 -> 8 for four levels)
  g.num_blocks = 2
  g.attn_resolutions = (8,)       # self-attention at these resolutions
  g.patch = 1                     # 2: 2x2 pixels to channels first (levels 32 -> 16 -> ...)
  g.dropout = 0.1                 # in every residual block (EDM's small-data runs: 0.25)
  g.sigma_data = 0.5              # EDM's; ln(sigma) ~ N(p_mean, p_std^2) in training
  g.p_mean, g.p_std = -1.2, 1.2
  g.label_dropout = 0.1           # share of training labels dropped (the unconditional model)
  g.sampler_steps = 40            # Heun steps: 2 x steps - 1 network passes (EDM at 64x64: 40)
  g.guidance = 1.0                # w in D_u + w (D_c - D_u): 0 / 1 one pass a step, else two
  return g


def gan_config(kind: str) -> ml_collections.ConfigDict:
  """Returns config.gan for 'dcgan' or 'acgan' with the paper's settings ('diffusion':
  :func:`diffusion_config`)."""
  if kind == 'diffusion':
    return diffusion_config()
  g = ml_collections.ConfigDict()
  g.kind = kind
  g.fold = -1                     # -1: train on all data; k: on the training part of fold k
  g.augmented_per_class = 1000    # classic variants per class the GAN trains on (not in the paper)
  g.z_dim = 100
  g.batch_size = 64
  g.beta1 = 0.5
  g.max_steps = 0                 # >0: cap each GAN at this many steps (>= 1 epoch)
  g.checkpoint_every = 5          # epochs
  g.samples_per_class = 1000      # written to samples.npz
  g.collapse_ratio = 0.5          # samples less diverse than this x the real ROIs: (partly)
                                  # collapsed; a working GAN measures ~0.9-1.0 here
  g.ema_decay = 0.0               # >0: sample from an EMA of the generator's weights (not in
                                  # the paper; liverjax/steps/gan.py)
  g.matmul_dtype = 'float32'      # 'bfloat16': convolutions' matmuls on bfloat16 operands,
                                  # float32 sums (models/conv_ops.py)
  g.conv_impl = 'auto'            # 'patches' | 'xla' | 'auto', as config.model.conv_impl
  # Data-efficient options, none in the paper (steps/data_efficient.py; variants.DATA_EFFICIENT):
  g.augment = ''                  # DiffAugment: some of 'translation,cutout,intensity' applied
                                  # to every image D sees, real and generated ('' = off)
  g.ada_target = 0.0              # >0: ADA steers those transforms' probability towards
                                  # E[sign D(real)] = target (Karras et al. 2020: 0.6)
  g.ada_images = 500_000          # real images ADA's probability needs to go from 0 to 1
  g.r1_gamma = 0.0                # >0: R1 penalty on D's gradient at real images (needs d_norm
                                  # layer or none for DCGAN)
  g.g_upsample = 'transposed'     # 'resize': nearest-neighbour x2 + convolution in G
  if kind == 'dcgan':
    g.d_norm = 'batch'            # DCGAN discriminator: batch (the paper) | layer | none
    g.g_widths = (1024, 512, 256, 128)   # dense 4x4x1024, then transposed convs
    g.d_widths = (64, 128, 256, 512)
    g.g_kernel_size = 5
    g.d_kernel_size = 5
    g.learning_rate = 2e-4
    g.epochs = 70
    g.dropout = 0.0               # unused by DCGAN
  else:
    g.g_widths = (512, 256, 128, 64)     # not in the paper's text
    g.d_widths = (32, 64, 128, 256, 512, 512)
    g.g_kernel_size = 4   # not in the paper's text: 3x3 stride-2 transposed kernels overlap
                          # unevenly (the textbook checkerboard), 4x4 ones evenly
    g.d_kernel_size = 3   # the paper's 3x3
    g.learning_rate = 1e-4
    g.epochs = 50
    g.dropout = 0.5
  return g


def apply(c: ml_collections.ConfigDict, table: dict) -> ml_collections.ConfigDict:
  """Returns c with each dotted key of table (configs/variants.py) set to its value; a key c does
  not have is refused (KeyError), so a misspelt table cannot add a setting nothing reads."""
  for key, value in table.items():
    *path, leaf = key.split('.')
    node = c
    for part in path:
      node = node[part]
    if leaf not in node:
      raise KeyError(f'{key}: no such config key')
    node[leaf] = value
  return c


def check_variant(arg) -> None:
  """Refuses a variant other than '', 'quick' and 'smoke'."""
  if arg not in (None, '', 'quick', 'smoke'):
    raise ValueError(f'unknown variant {arg!r}: use smoke, quick or nothing')


def data_efficient(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns GAN config g with the data-efficient preset (variants.DATA_EFFICIENT) on."""
  return apply(g, variants.DATA_EFFICIENT[g.kind])


def gan_quick(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns GAN config g at a job's :quick settings (GAN_QUICK; diffusion: DIFFUSION_QUICK)."""
  if g.kind == 'diffusion':
    return apply(g, variants.DIFFUSION_QUICK)
  return apply(g, variants.GAN_QUICK[g.kind])


def gan_smoke(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns GAN config g at the :smoke settings (variants.GAN_SMOKE; the diffusion model's
  variants.DIFFUSION_SMOKE)."""
  if g.kind == 'diffusion':
    return apply(g, variants.DIFFUSION_SMOKE)
  return apply(g, dict(variants.GAN_SMOKE, d_widths=variants.GAN_SMOKE_D_WIDTHS[g.kind]))


def arm_gan_config(arm: str) -> ml_collections.ConfigDict:
  """Returns the paper's GAN config of a GAN arm: 'dcgan', 'acgan', or either with '_de' (the
  same GAN with the data-efficient preset on)."""
  g = gan_config(arm.removesuffix('_de'))
  return data_efficient(g) if arm.endswith('_de') else g


def gan_job(kind: str, arg=None) -> ml_collections.ConfigDict:
  """Returns the config of a GAN job of kind 'dcgan' or 'acgan' (either with '_de') for variant
  arg: the paper's GAN(s); `:quick` variants.GAN_QUICK; `:smoke` variants.SMOKE and GAN_SMOKE."""
  check_variant(arg)
  c = base_config()
  c.job = 'gan'
  c.gan = arm_gan_config(kind)
  if arg == 'quick':
    gan_quick(c.gan)
  elif arg == 'smoke':
    apply(c, variants.SMOKE)
    gan_smoke(c.gan)
  return c


def aug_experiment(kinds: tuple[str, ...], arg=None) -> ml_collections.ConfigDict:
  """Returns the synthetic-augmentation experiment with arms none, classic and the GAN arms
  `kinds` for variant arg: the paper's protocol; `:quick` variants.QUICK_CLASSIFIER and
  AUG_QUICK, each GAN at GAN_QUICK then AUG_QUICK_GAN (the diffusion model at DIFFUSION_QUICK,
  its own budget); `:smoke` SMOKE, AUG_SMOKE and GAN_SMOKE."""
  check_variant(arg)
  c = base_config()
  c.arms = ('none', 'classic') + tuple(kinds)
  for kind in kinds:
    c[kind] = arm_gan_config(kind)
  if arg == 'quick':
    apply(c, variants.QUICK_CLASSIFIER)
    apply(c, variants.AUG_QUICK)
    for kind in kinds:
      if gan_quick(c[kind]).kind != 'diffusion':
        apply(c[kind], variants.AUG_QUICK_GAN)
  elif arg == 'smoke':
    apply(c, variants.SMOKE)
    apply(c, variants.AUG_SMOKE)
    for kind in kinds:
      gan_smoke(c[kind])
  return c
