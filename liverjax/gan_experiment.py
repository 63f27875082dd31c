"""Training the paper's GANs on a data set: the job behind configs/dcgan.py and configs/acgan.py.

DCGAN trains one model per class, ACGAN one model for all classes, each on a classic augmented
set (``config.gan.augmented_per_class`` paper variants per class) of the configured data: all of
it (``config.gan.fold = -1``) or the training part of one cross-validation fold. Writes to the
workdir:

  config.json, gan/<name>/checkpoints/   orbax checkpoints of the GANState (resumable)
  tensorboard/                           d_loss, g_loss, d_real = mean D(x), d_fake = mean D(G(z)),
                                         sample grids from fixed noise
  samples/<class>.png                    grid from fixed noise (comparable across runs and epochs)
  samples/real_<class>.png               real ROIs of that class, for comparison
  samples.npz                            images (N, 64, 64, 1) in [0, 1], labels, classes

A NaN or inf loss stops training with :class:`GANDivergedError`; the last good checkpoint stays.
"""

from __future__ import annotations

import functools
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from liverjax import augment, data, errors, gan, grid, models, parallel, timing, train
from liverjax import workdir as wd

GRID_N = 32


class GANDivergedError(RuntimeError):
  """A GAN's loss became NaN or inf."""


def make_setup(gcfg, num_classes: int) -> gan.GANSetup:
  """Returns the GANSetup (modules, optimizers) that config.gan describes."""
  where = f'(config.{gcfg.kind}.* in *_aug.py)'
  dtype_name = gcfg.get('matmul_dtype', 'float32')
  low = models.matmul_dtype(dtype_name, f'gan.matmul_dtype {where}')
  impl = models.conv_impl(gcfg.get('conv_impl', 'auto'), dtype_name, f'gan.conv_impl {where}')
  if gcfg.kind == 'dcgan':
    generator = models.DCGANGenerator(widths=tuple(gcfg.g_widths),
                                      kernel_size=gcfg.g_kernel_size, matmul_dtype=low,
                                      conv_impl=impl)
    discriminator = models.DCGANDiscriminator(widths=tuple(gcfg.d_widths),
                                              kernel_size=gcfg.d_kernel_size, matmul_dtype=low,
                                              conv_impl=impl)
  elif gcfg.kind == 'acgan':
    generator = models.DCGANGenerator(widths=tuple(gcfg.g_widths),
                                      kernel_size=gcfg.g_kernel_size, num_classes=num_classes,
                                      matmul_dtype=low, conv_impl=impl)
    discriminator = models.ACGANDiscriminator(num_classes=num_classes,
                                              widths=tuple(gcfg.d_widths),
                                              kernel_size=gcfg.d_kernel_size,
                                              dropout=gcfg.dropout, matmul_dtype=low,
                                              conv_impl=impl)
  else:
    raise errors.ConfigError(f'config.gan.kind={gcfg.kind!r}: expected dcgan or acgan')
  return gan.GANSetup(kind=gcfg.kind, generator=generator, discriminator=discriminator,
                      g_tx=gan.make_optimizer(gcfg.learning_rate, gcfg.beta1),
                      d_tx=gan.make_optimizer(gcfg.learning_rate, gcfg.beta1),
                      z_dim=gcfg.z_dim, num_classes=max(1, num_classes if gcfg.kind == 'acgan'
                                                        else 1),
                      ema_decay=float(gcfg.get('ema_decay', 0.0)))


def model_names(kind: str, classes) -> list[tuple[str, list[int]]]:
  """Returns (name, classes it generates) per GAN: one per class for DCGAN, one for ACGAN."""
  if kind == 'dcgan':
    return [(f'dcgan_{c}', [k]) for k, c in enumerate(classes)]
  return [('acgan', list(range(len(classes))))]


class GANTrainer:
  """Trains GANs of one setup on device-resident sets, with checkpoints, logs and NaN checks."""

  def __init__(self, setup: gan.GANSetup, gcfg, mesh, writer: wd.ScalarWriter,
               scale_range=(0.85, 1.15), shift_cap_px: float = 4.0):
    self.setup, self.gcfg, self.mesh, self.writer = setup, gcfg, mesh, writer
    parallel.check_batch_size(gcfg.batch_size, mesh)
    step_fn = functools.partial(gan.train_step, setup=setup)
    self.epoch_fn = jax.jit(functools.partial(
        train.train_epoch, step_fn=step_fn, batch_size=gcfg.batch_size,
        batch_sharding=parallel.batch_sharded(mesh)), donate_argnums=0)
    self.sample_fn = jax.jit(functools.partial(gan.sample, setup), static_argnames=('n',))
    self.refresh_fn = jax.jit(functools.partial(gan.refresh_ema, setup))
    self.augment_fn = jax.jit(functools.partial(
        augment.classic_augment, scale_range=tuple(scale_range), shift_cap_px=shift_cap_px),
                              static_argnums=4)

  def training_set(self, key, images, labels, diameter_px, classes: list[int]) -> dict:
    """Returns {'image', 'label'}: gcfg.augmented_per_class classic variants of each class.
    A class's ROIs are padded to whole batches (train.pad_rows), so classes and folds of
    similar size share one compilation of the augmentation."""
    real = {'image': images, 'label': labels, 'diameter_px': diameter_px}
    parts_x, parts_y = [], []
    for c in classes:
      idx = np.flatnonzero(np.asarray(labels) == c)
      if idx.size == 0:
        raise data.DataError(f'GAN training set: no images of class {c}')
      rois, n = train.pad_rows(real, idx, self.gcfg.batch_size)
      x, y = self.augment_fn(jax.random.fold_in(key, c), rois['image'], rois['label'],
                             rois['diameter_px'], int(self.gcfg.augmented_per_class),
                             n=np.int32(n))
      parts_x.append(x)
      parts_y.append(y)
    return {'image': jnp.concatenate(parts_x), 'label': jnp.concatenate(parts_y)}

  def schedule(self, n: int) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) for a training set of n images (max_steps caps it)."""
    g = self.gcfg
    return train.schedule(n, g.batch_size, g.epochs, g.max_steps)

  def fit(self, name: str, train_set: dict, key: jax.Array, ckpt_dir: str, progress,
          grid_labels: list[int]) -> gan.GANState:
    """Returns the trained GANState, resuming from the latest checkpoint in ckpt_dir."""
    k_init, k_train, k_fixed = jax.random.split(key, 3)
    k_stats = jax.random.fold_in(k_fixed, 1)   # the EMA generator's standing statistics
    state = jax.device_put(gan.init_state(self.setup, k_init), parallel.replicated(self.mesh))
    mngr = wd.checkpoint_manager(ckpt_dir, max_to_keep=2)   # a spare, should the latest be lost
    start, state = wd.restore_latest(mngr, state)
    start = start or 0
    epochs, steps = self.schedule(int(train_set['label'].shape[0]))
    progress.update(start * steps)
    try:
      for epoch in range(start, epochs):
        state, metrics = self.epoch_fn(state, train_set, k_train)
        metrics = jax.device_get(metrics)
        done = epoch + 1
        if not all(np.isfinite(v) for v in metrics.values()):
          mngr.wait_until_finished()   # the last save may still be being written
          raise GANDivergedError(
              f'{name}: loss became NaN/inf in epoch {done} ({metrics}); the last good '
              f'checkpoint (epoch {mngr.latest_step()}) is kept in {ckpt_dir}')
        step = int(state.step)
        self.writer.scalars(step, metrics, prefix=f'{name}/')
        progress.set_postfix_str(f'{name} D {metrics["d_loss"]:.2f} G {metrics["g_loss"]:.2f}')
        if done % self.gcfg.checkpoint_every == 0 or done == epochs:
          if state.g_ema is not None:
            state = self.refresh_fn(state, k_stats)
          wd.save_state(mngr, done, state, wait=False)   # written while training goes on
          self.writer.image(step, self.fixed_grid(state, k_fixed, grid_labels), f'{name}/samples')
        progress.update(steps)
    finally:
      mngr.close()   # waits for the last save to be on disk, also when training raised
    return state

  def fixed_grid(self, state: gan.GANState, key: jax.Array, labels: list[int]) -> np.ndarray:
    """Returns a uint8 grid of GRID_N samples per label from fixed noise."""
    g = gan.sampling_generator(state)
    images = [self.sample_fn(g, key, n=GRID_N, label=c) for c in labels]
    return grid.make_grid(np.concatenate(jax.device_get(images)), ncol=16)


def train_and_sample(trainer: GANTrainer, real: dict, classes, key: jax.Array, ckpt_root: str,
                     progress, n_per_class: int, grid_dir: str | None = None,
                     prefix: str = '', stopwatch: timing.Stopwatch | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
  """Trains the GAN(s) of trainer.setup on the real arrays {'image', 'label', 'diameter_px'} and
  returns (images (n_per_class * K, 64, 64, 1) in [0, 1], labels, diversity per class) generated
  by them; a collapsed generator (diversity_check) is logged as a warning.

  Resumes from checkpoints under ckpt_root/<model>/; writes fixed-noise grids <class>.png and
  real_<class>.png to grid_dir if given. Everything is a function of (real, key, config).
  """
  sw = stopwatch or timing.Stopwatch()
  out_images, out_labels, diagnostics = [], [], {}
  for i, (name, cls) in enumerate(model_names(trainer.setup.kind, classes)):
    k_set, k_fit, k_sample = jax.random.split(jax.random.fold_in(key, i), 3)
    with sw('GAN training'):
      train_set = trainer.training_set(k_set, real['image'], real['label'], real['diameter_px'],
                                       cls)
      state = trainer.fit(prefix + name, train_set, k_fit,
                          os.path.join(ckpt_root, name, 'checkpoints'), progress, cls)
    g = gan.sampling_generator(state)
    for c in cls:
      real_c = np.asarray(real['image'])[np.asarray(real['label']) == c]
      with sw('generation'):
        images = np.asarray(trainer.sample_fn(g, jax.random.fold_in(k_sample, c),
                                              n=int(n_per_class), label=c))
      if grid_dir is not None:
        fixed = trainer.sample_fn(g, jax.random.split(k_fit, 3)[2], n=GRID_N, label=c)
        grid.save_grid(os.path.join(grid_dir, f'{classes[c]}.png'), np.asarray(fixed), ncol=8,
                       scale=2)
        grid.save_grid(os.path.join(grid_dir, f'real_{classes[c]}.png'), real_c[:GRID_N], ncol=8,
                       scale=2)
      d = diversity_check(images, real_c, trainer.gcfg.collapse_ratio)
      d['grid'] = grid_check(images, real_c)
      diagnostics[classes[c]] = d
      if d['collapsed']:
        logging.warning('%s%s: generator looks collapsed for class %s: sample diversity %.4f is '
                        '%.1f%% of the real images\' %.4f (threshold %.0f%%); its images are '
                        'flagged in the report', prefix, name, classes[c], d['generated'],
                        100 * d['ratio'], d['real'], 100 * d['threshold'])
      out_images.append(images)
      out_labels.append(np.full(len(images), c, np.int32))
  return np.concatenate(out_images), np.concatenate(out_labels), diagnostics


def sample_diversity(images: np.ndarray, n: int = 128) -> float:
  """Returns the mean RMS difference between pairs of the first n images (0 = all identical)."""
  x = np.asarray(images[:n], np.float64).reshape(min(n, len(images)), -1)
  if len(x) < 2:
    return float('nan')
  sq = (x ** 2).sum(1)
  d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0) / x.shape[1]
  iu = np.triu_indices(len(x), 1)
  return float(np.sqrt(d2[iu]).mean())


def diversity_check(generated: np.ndarray, real: np.ndarray, threshold: float) -> dict:
  """Returns {'generated', 'real', 'ratio', 'threshold', 'collapsed'}: a generator whose samples
  differ from each other by less than threshold x as much as the real images do is collapsed."""
  g, r = sample_diversity(generated), sample_diversity(real)
  ratio = g / r if r > 0 else float('nan')
  return {'generated': round(g, 6), 'real': round(r, 6), 'ratio': round(ratio, 4),
          'threshold': threshold, 'collapsed': bool(ratio < threshold)}


def grid_share(images: np.ndarray, n: int = 256) -> float:
  """Returns the share of the first n images' spectral power (each image's mean removed) at
  spatial periods of 2 and 4 pixels along rows or columns: where the checkerboard and fine-grid
  artifacts of strided (transposed) convolutions sit. Natural-looking images have little there."""
  x = np.asarray(images[:n], np.float64)[..., 0]
  x = x - x.mean(axis=(1, 2), keepdims=True)
  power = (np.abs(np.fft.fft2(x)) ** 2).sum(0)
  fy, fx = np.abs(np.fft.fftfreq(x.shape[1])), np.abs(np.fft.fftfreq(x.shape[2]))
  grid_y, grid_x = np.isin(fy, (0.25, 0.5)), np.isin(fx, (0.25, 0.5))
  total = power.sum()
  return float(power[grid_y[:, None] | grid_x[None, :]].sum() / total) if total > 0 else 0.0


def grid_check(generated: np.ndarray, real: np.ndarray) -> dict:
  """Returns {'generated', 'real', 'ratio'} of :func:`grid_share`: ratio 1 = as grid-free as the
  real ROIs; larger = visible grid or checkerboard (a diagnostic, nothing is flagged)."""
  g, r = grid_share(generated), grid_share(real)
  return {'generated': round(g, 6), 'real': round(r, 6),
          'ratio': round(g / r, 3) if r > 0 else float('nan')}


def run(config, workdir: str) -> dict:
  """Trains the GAN(s) config.gan describes and writes samples; returns a summary dict."""
  sw = timing.Stopwatch()
  gcfg = config.gan
  with sw('data'):
    ds = data.load(config.data)    # everything that can be refused is checked before any write
  if gcfg.fold >= config.folds:
    raise errors.ConfigError(f'config.gan.fold={gcfg.fold}: there are only config.folds='
                             f'{config.folds} folds (0..{config.folds - 1}, or -1 for all data)')
  if gcfg.fold >= 0:
    folds = data.stratified_group_kfold(ds.labels, ds.groups, config.folds, config.split_seed)
    train_idx = folds[gcfg.fold][0]
  else:
    train_idx = np.arange(len(ds))
  mesh = parallel.make_mesh(config.get('num_devices') or None)
  setup = make_setup(gcfg, len(ds.classes))
  parallel.check_batch_size(gcfg.batch_size, mesh)
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  writer = wd.ScalarWriter(os.path.join(workdir, 'tensorboard'))
  trainer = GANTrainer(setup, gcfg, mesh, writer, tuple(config.augment.scale_range),
                       config.augment.shift_cap_px)
  diam = np.where(np.isnan(ds.diameter_px), config.augment.default_diameter_px, ds.diameter_px)
  real = parallel.put_replicated({'image': ds.images[train_idx], 'label': ds.labels[train_idx],
                                  'diameter_px': diam[train_idx].astype(np.float32)}, mesh)
  key = jax.random.key(config.seeds[0])
  names = model_names(gcfg.kind, ds.classes)
  total = sum(np.prod(trainer.schedule(gcfg.augmented_per_class * len(cls))) for _, cls in names)
  progress = tqdm.tqdm(total=int(total), desc=f'{gcfg.kind} training', unit='step',
                       disable=not config.get('progress', True), smoothing=0.05)
  images, labels, diversity = train_and_sample(trainer, real, ds.classes, key,
                                               os.path.join(workdir, 'gan'), progress,
                                               gcfg.samples_per_class,
                                               os.path.join(workdir, 'samples'), stopwatch=sw)
  progress.close()
  writer.close()
  write_samples(os.path.join(workdir, 'samples.npz'), images, labels, ds.classes)
  summary = {'kind': gcfg.kind, 'models': [n for n, _ in names], 'classes': list(ds.classes),
             'n_train_real': int(len(train_idx)), 'samples': int(len(images)),
             'sample_std_per_class': {ds.classes[c]: float(images[labels == c].std(0).mean())
                                      for c in np.unique(labels)},
             'diversity': diversity,
             'collapsed': sorted(c for c, d in diversity.items() if d['collapsed'])}
  wd.write_json(os.path.join(workdir, 'gan_summary.json'), summary)
  wd.write_json(os.path.join(workdir, 'timing.json'), sw.log())
  return summary


def write_samples(path: str, images: np.ndarray, labels: np.ndarray, classes) -> str:
  """Writes generated images as .npz (images in [0, 1], labels, classes) atomically (process 0)."""
  if not wd.is_writer():
    return path
  tmp = f'{path}.tmp{os.getpid()}.npz'
  np.savez_compressed(tmp, images=images, labels=labels, classes=np.asarray(classes))
  os.replace(tmp, path)
  return path


def load_generator(workdir: str):
  """Returns (setup, {name: generator TrainState}, classes) restored from a GAN job's workdir."""
  import ml_collections
  cfg = ml_collections.ConfigDict(wd.read_json(os.path.join(workdir, 'config.json')))
  summary = wd.read_json(os.path.join(workdir, 'gan_summary.json'))
  if summary is None:
    raise wd.WorkdirError(f'{workdir}: no finished GAN job (gan_summary.json missing)')
  classes = summary['classes']
  setup = make_setup(cfg.gan, len(classes))
  generators = {}
  for name, _ in model_names(cfg.gan.kind, classes):
    template = gan.init_state(setup, jax.random.key(0))
    mngr = wd.checkpoint_manager(os.path.join(workdir, 'gan', name, 'checkpoints'))
    step, state = wd.restore_latest(mngr, template)
    mngr.close()
    if step is None:
      raise wd.WorkdirError(f'{workdir}: no checkpoint for {name}')
    generators[name] = gan.sampling_generator(state)
  return setup, generators, classes
