"""Settings shared by every experiment config; each config file starts from base_config()."""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
  """Returns the paper's protocol on the embedded phantom (override per file and variant)."""
  c = ml_collections.ConfigDict()
  c.seeds = (0,)                 # classifier seeds; every (seed, fold) is one run
  c.folds = 3                    # k-fold cross-validation, grouped by patient/lesion
  c.split_seed = 0               # the folds are the same for every seed and arm
  c.num_devices = 0              # 0 = all devices; the mesh is 1-D ('data',)
  c.overwrite = False            # True: empty a workdir that holds another config's run first
  c.progress = True              # progress bars on stderr

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
                                         # (benchmarks/README.md); 1: the earlier phantom
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
                                         # (benchmarks/README.md)
  c.model.conv_impl = 'auto'             # convolutions as 'patches' (patch matrix + matmul) or
                                         # 'xla' (XLA's own: cuDNN on a GPU); 'auto' = the faster
                                         # on this backend (experiment/builders.py;
                                         # benchmarks/README.md)

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
                                         # vmapped (for GPUs: a batch-64 step uses little of one;
                                         # slower on a 2-core CPU; benchmarks/README.md)
  return c


def gan_config(kind: str) -> ml_collections.ConfigDict:
  """Returns config.gan for 'dcgan' or 'acgan' with the paper's settings."""
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
                                  # the paper; liverjax/steps/gan.py). :quick uses 0.999
  g.matmul_dtype = 'float32'      # 'bfloat16': convolutions' matmuls on bfloat16 operands,
                                  # float32 sums (models/conv_ops.py; benchmarks/README.md)
  g.conv_impl = 'auto'            # 'patches' | 'xla' | 'auto', as config.model.conv_impl
  # Data-efficient options, none in the paper (steps/data_efficient.py; data_efficient()):
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
                          # (benchmarks/README.md, GAN settings)
    g.d_kernel_size = 3   # the paper's 3x3
    g.learning_rate = 1e-4
    g.epochs = 50
    g.dropout = 0.5
  return g


def data_efficient(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns g with the data-efficient options on (none is in the paper): DiffAugment's
  translation, cutout and a mild CT intensity change on every image D sees, and an R1 penalty of
  weight 1 (DCGAN: on a layer-normalised discriminator, as R1 needs); the paper's transposed
  convolutions in G (g_upsample='resize' stays an option). Chosen on phantom version 2, seed 1,
  fold 0, by feature recall and the collapse check only, at the main job's 400-step GAN budget,
  over DiffAugment alone and the same with resize-convolutions; every candidate there, and the
  paper's GAN, covered few metastasis and hemangioma forms. In the GAN jobs' 1,120 steps it scores
  below the paper's GAN (benchmarks/README.md, Data-efficient GANs)."""
  g.augment = 'translation,cutout,intensity'
  g.r1_gamma = 1.0
  if g.kind == 'dcgan':
    g.d_norm = 'layer'
  return g


def gan_quick(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns g shrunk to ~11-12 minutes on a 2-core CPU: the paper's epochs, 1/4 discriminator
  widths, 1/8 generator widths (the ACGAN's one generator for three classes: 1/4), samples from
  an exponential moving average of the generator's weights (not in the paper). ACGAN only: no
  discriminator dropout and lr 2e-4 (the paper: 0.5 and 1e-4), without which its samples of a
  class looked alike at these widths. What each choice changed, measured with the GAN checks:
  benchmarks/README.md, GAN settings.
  """
  g.g_widths = tuple(w // (4 if g.kind == 'acgan' else 8) for w in g.g_widths)
  g.d_widths = tuple(max(8, w // 4) for w in g.d_widths)
  if g.kind == 'acgan':
    g.dropout = 0.0
    g.learning_rate = 2e-4
  g.ema_decay = 0.999
  g.checkpoint_every = 10
  g.samples_per_class = 200
  return g


def gan_smoke(g: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns g shrunk to seconds: tiny widths, two epochs of a tiny set."""
  g.g_widths = (16, 8, 8, 4)
  g.d_widths = tuple(8 for _ in g.d_widths)
  g.ema_decay = 0.999             # exercises the EMA generator's path (checkpoint, sampling)
  g.augmented_per_class = 32
  g.batch_size = 16
  g.epochs = 2
  g.max_steps = 0
  g.checkpoint_every = 1
  g.samples_per_class = 16
  return g


def arm_gan_config(arm: str) -> ml_collections.ConfigDict:
  """Returns the paper's GAN config of a GAN arm: 'dcgan', 'acgan', or either with '_de' (the
  same GAN with the data-efficient options on)."""
  kind = arm.removesuffix('_de')
  g = gan_config(kind)
  return data_efficient(g) if arm.endswith('_de') else g


def gan_job(kind: str, arg=None) -> ml_collections.ConfigDict:
  """Returns the config of a GAN job of kind 'dcgan' or 'acgan' (either with '_de': the
  data-efficient options on) for variant arg."""
  c = base_config()
  c.job = 'gan'
  c.gan = arm_gan_config(kind)
  if arg == 'quick':
    c.gan = gan_quick(c.gan)
  elif arg == 'smoke':
    c = smoke(c)
    c.gan = gan_smoke(c.gan)
  elif arg:
    raise ValueError(f'unknown variant {arg!r}: use smoke, quick or nothing')
  return c


def aug_experiment(kinds: tuple[str, ...], arg=None) -> ml_collections.ConfigDict:
  """Returns the synthetic-augmentation experiment with GAN arms `kinds` for variant arg.

  No arg: the paper's protocol. 'quick': about 21 minutes on a 2-core CPU (quick_classifier's
  budget with a narrower classifier, classic set of 1000, 1,000 synthetic images per class as in
  the paper's headline (fixed, not picked on the test folds; the oracle's size in
  benchmarks/phantom_calibration.py), gan_quick's GANs trained 400 steps per model): far too
  little GAN training to expect the paper's gain (README, What the main job gives). 'smoke':
  seconds, for tests.
  """
  c = base_config()
  c.arms = ('none', 'classic') + tuple(kinds)
  for kind in kinds:
    c[kind] = arm_gan_config(kind)
  if arg == 'quick':
    c = quick_classifier(c)
    c.model.features = (16, 32, 64)
    c.model.dense = 128
    c.classic.sizes = (1000,)
    c.synthetic.classic_size = 1000
    c.synthetic.per_class = (1000,)
    for kind in kinds:
      c[kind] = gan_quick(c[kind])
      # 400 steps: the most that keeps the main job near 22 minutes on a 2-core CPU; on phantom
      # version 2 (seed 1, fold 0) 120 steps collapse every class and even 500 leave metastases
      # and hemangiomas far short of the real ROIs (benchmarks/README.md, Quick GAN budget).
      c[kind].max_steps = 400
      c[kind].augmented_per_class = 500
      # No weight average: sampled from it, 8 of 9 fold/class generators at 120 steps and the
      # hemangiomas at 400 were less diverse than the trained generator itself.
      c[kind].ema_decay = 0.0
  elif arg == 'smoke':
    c = smoke(c)
    c.synthetic.classic_size = 64
    c.synthetic.per_class = (8, 16)
    for kind in kinds:
      c[kind] = gan_smoke(c[kind])
  elif arg:
    raise ValueError(f'unknown variant {arg!r}: use smoke, quick or nothing')
  return c


def quick_classifier(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns c with the :quick classifier budget: one seed, each run capped at 1,200 SGD steps (at
  most 150 epochs: `none` gets 300) at learning rate 0.01 (the paper: 150 epochs at 1e-3). Chosen
  on phantom seed 1, never on the reported seed 0, as the smallest budget tried whose classic runs
  all end above 90% training accuracy on phantom version 2 (600 steps sufficed on version 1);
  one seed rather than two keeps the main job within 25 minutes on a 2-core CPU (the folds, not
  the seeds, are the units of its intervals). benchmarks/README.md, Quick classifier budget."""
  c.seeds = (0,)
  c.train.max_steps = 1200
  c.train.learning_rate = 0.01
  return c


def smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Returns c shrunk to run in seconds (tests): tiny phantom, tiny model, few epochs."""
  c.data.phantom.counts = (12, 12, 12)
  c.model.features = (4, 8, 8)
  c.model.dense = 16
  c.train.epochs = 2
  c.train.batch_size = 16
  c.train.checkpoint_every = 1
  c.classic.sizes = (64,)
  return c
