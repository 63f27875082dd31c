"""A setup's GANs on device-resident sets, in four parts that the GAN job and the experiment's
GAN arms share: :func:`train` (checkpoints, logs, NaN checks), :func:`sample`, :func:`judge`
(diversity and grid checks) and :func:`write_grids`; :func:`train_and_sample` runs them in turn.

DCGAN trains one model per class, ACGAN and the diffusion model one model for all classes
(:func:`model_names`; :func:`steps_of` gives the step functions of a setup's kind), each on a
classic augmented set of ``gcfg.augmented_per_class`` paper variants per class. Each GAN's keys
are derived once (:func:`model_keys`) and passed to the part that uses them. A NaN or inf loss
stops training with :class:`~liverjax.base.errors.GANDivergedError`; the last good checkpoint
stays.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from liverjax import augment
from liverjax.base import checkpoints, errors, grid, padding, timing, workdir as wd
from liverjax.base import mesh as mesh_lib
from liverjax.evaluation import sample_checks
from liverjax.steps import diffusion, epochs, gan

GRID_N = 32
LOSSES = {'d_loss': 'D', 'g_loss': 'G', 'loss': 'loss'}   # beside the progress bar, if a step has it


def steps_of(setup):
  """Returns the module of the setup's step functions (init_state, train_step,
  sampling_generator, refresh_ema, sample, with the same signatures): steps.diffusion for a
  diffusion setup, steps.gan for a GAN's."""
  return diffusion if setup.kind == 'diffusion' else gan


def plural(kind: str, n: int = 2) -> str:
  """Returns what n of `kind`'s models are called in a plan or a progress bar: 'diffusion
  models', 'dcgan GANs' ('diffusion model', 'dcgan GAN' for n = 1)."""
  return (f'{kind} model' if kind == 'diffusion' else f'{kind} GAN') + ('s' if n != 1 else '')


def model_names(kind: str, classes) -> list[tuple[str, list[int]]]:
  """Returns (name, classes it generates) per model: one per class for DCGAN, one for ACGAN and
  for the (class-conditional) diffusion model."""
  if kind == 'dcgan':
    return [(f'dcgan_{c}', [k]) for k, c in enumerate(classes)]
  return [(kind, list(range(len(classes))))]


def checkpoint_dir(root: str, name: str) -> str:
  """Returns the folder of GAN `name`'s checkpoints under root (the job's or a fold's gan/ dir)."""
  return os.path.join(root, name, 'checkpoints')


class GANTrainer:
  """Trains GANs of one setup on device-resident sets, with checkpoints, logs and NaN checks."""

  def __init__(self, setup, gcfg, mesh, writer: wd.ScalarWriter,
               scale_range=(0.85, 1.15), shift_cap_px: float = 4.0):
    self.setup, self.gcfg, self.mesh, self.writer = setup, gcfg, mesh, writer
    mesh_lib.check_batch_size(gcfg.batch_size, mesh)
    self.steps = steps_of(setup)
    step_fn = functools.partial(self.steps.train_step, setup=setup)
    self.epoch_fn = jax.jit(functools.partial(
        epochs.train_epoch, step_fn=step_fn, batch_size=gcfg.batch_size,
        batch_sharding=mesh_lib.batch_sharded(mesh)), donate_argnums=0)
    self.sample_fn = jax.jit(functools.partial(self.steps.sample, setup), static_argnames=('n',))
    self.refresh_fn = jax.jit(functools.partial(self.steps.refresh_ema, setup))
    self.augment_fn = jax.jit(functools.partial(
        augment.classic_augment, scale_range=tuple(scale_range), shift_cap_px=shift_cap_px),
                              static_argnums=4)

  def training_set(self, key, images, labels, diameter_px, classes: list[int]) -> dict:
    """Returns {'image', 'label'}: gcfg.augmented_per_class classic variants of each class.
    A class's ROIs are padded to whole batches (padding.pad_rows), so classes and folds of
    similar size share one compilation of the augmentation."""
    real = {'image': images, 'label': labels, 'diameter_px': diameter_px}
    parts_x, parts_y = [], []
    for c in classes:
      idx = np.flatnonzero(np.asarray(labels) == c)
      if idx.size == 0:
        raise errors.DataError(f'GAN training set: no images of class {c}')
      rois, n = padding.pad_rows(real, idx, self.gcfg.batch_size)
      x, y = self.augment_fn(jax.random.fold_in(key, c), rois['image'], rois['label'],
                             rois['diameter_px'], int(self.gcfg.augmented_per_class),
                             n=np.int32(n))
      parts_x.append(x)
      parts_y.append(y)
    return {'image': jnp.concatenate(parts_x), 'label': jnp.concatenate(parts_y)}

  def schedule(self, n: int) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) for a training set of n images (max_steps caps it)."""
    g = self.gcfg
    return epochs.schedule(n, g.batch_size, g.epochs, g.max_steps)

  def total_steps(self, classes) -> int:
    """Returns the steps :func:`train_and_sample` takes for `classes`, over all its GANs."""
    return int(sum(np.prod(self.schedule(self.gcfg.augmented_per_class * len(cls)))
                   for _, cls in model_names(self.setup.kind, classes)))

  def fit(self, name: str, train_set: dict, keys: ModelKeys, ckpt_dir: str, progress,
          grid_labels: list[int]):
    """Returns the trained state (a GANState or DiffusionState), resuming from the latest
    checkpoint in ckpt_dir."""
    state = jax.device_put(self.steps.init_state(self.setup, keys.init),
                           mesh_lib.replicated(self.mesh))
    # a spare checkpoint, should the latest be lost
    mngr = checkpoints.checkpoint_manager(ckpt_dir, max_to_keep=2)
    start, state = checkpoints.restore_latest(mngr, state)
    start = start or 0
    n_epochs, steps = self.schedule(int(train_set['label'].shape[0]))
    progress.update(start * steps)
    try:
      for epoch in range(start, n_epochs):
        state, metrics = self.epoch_fn(state, train_set, keys.train)
        metrics = jax.device_get(metrics)
        done = epoch + 1
        if not all(np.isfinite(v) for v in metrics.values()):
          mngr.wait_until_finished()   # the last save may still be being written
          last = mngr.latest_step()
          kept = (f'the last good checkpoint (epoch {last}) is kept in {ckpt_dir}'
                  if last is not None else 'no checkpoint had been written yet')
          raise errors.GANDivergedError(
              f'{name}: loss became NaN/inf in epoch {done} ({metrics}); {kept}')
        step = int(state.step)
        self.writer.scalars(step, metrics, prefix=f'{name}/')
        progress.set_postfix_str(name + ' ' + ' '.join(
            f'{short} {metrics[k]:.2f}' for k, short in LOSSES.items() if k in metrics))
        if done % self.gcfg.checkpoint_every == 0 or done == n_epochs:
          state = self.refresh_fn(state, keys.ema_stats)
          checkpoints.save_state(mngr, done, state, wait=False)   # written while training goes on
          self.writer.image(step, self.fixed_grid(state, keys.grid, grid_labels), f'{name}/samples')
        progress.update(steps)
    finally:
      mngr.close()   # waits for the last save to be on disk, also when training raised
    return state

  def fixed_grid(self, state, key: jax.Array, labels: list[int]) -> np.ndarray:
    """Returns a uint8 grid of GRID_N samples per label from fixed noise."""
    g = self.steps.sampling_generator(state)
    images = [self.sample_fn(g, key, n=GRID_N, label=c) for c in labels]
    return grid.make_grid(np.concatenate(jax.device_get(images)), ncol=16)


@dataclasses.dataclass(frozen=True)
class ModelKeys:
  """The keys of one GAN, each derived once by :func:`model_keys` and passed where it is used."""
  set: jax.Array         # its classic training set (folded with the class)
  init: jax.Array        # its initial weights
  train: jax.Array       # its training epochs
  grid: jax.Array        # the fixed noise of its sample grids (TensorBoard and grid files)
  ema_stats: jax.Array   # the EMA generator's standing batch-norm statistics
  sample: jax.Array      # its synthetic images (folded with the class)


def model_keys(key: jax.Array, index: int) -> ModelKeys:
  """Returns the keys of the index-th GAN of a job or fold whose key is `key`."""
  k_set, k_fit, k_sample = jax.random.split(jax.random.fold_in(key, index), 3)
  k_init, k_train, k_grid = jax.random.split(k_fit, 3)
  return ModelKeys(set=k_set, init=k_init, train=k_train, grid=k_grid,
                   ema_stats=jax.random.fold_in(k_grid, 1), sample=k_sample)


@dataclasses.dataclass(frozen=True)
class TrainedGAN:
  """One trained GAN: its name, the classes it generates, its final state and its keys."""
  name: str
  classes: list[int]
  state: gan.GANState | diffusion.DiffusionState
  keys: ModelKeys


def train(trainer: GANTrainer, real: dict, classes, key: jax.Array, ckpt_root: str, progress,
          prefix: str = '', stopwatch: timing.Stopwatch | None = None) -> list[TrainedGAN]:
  """Returns the GAN(s) of trainer.setup trained on the real arrays {'image', 'label',
  'diameter_px'}, resumed from checkpoints under ckpt_root/<model>/; a function of (real, key,
  config)."""
  sw = stopwatch or timing.Stopwatch()
  trained = []
  for i, (name, cls) in enumerate(model_names(trainer.setup.kind, classes)):
    keys = model_keys(key, i)
    with sw('GAN training'):
      train_set = trainer.training_set(keys.set, real['image'], real['label'], real['diameter_px'],
                                       cls)
      state = trainer.fit(prefix + name, train_set, keys, checkpoint_dir(ckpt_root, name),
                          progress, cls)
    trained.append(TrainedGAN(name, cls, state, keys))
  return trained


def sample(trainer: GANTrainer, trained: list[TrainedGAN], n_per_class: int,
           stopwatch: timing.Stopwatch | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Returns (images (n_per_class * K, 64, 64, 1) in [0, 1], labels) generated by the trained
  GANs, class by class, each class from its GAN's sample key folded with the class."""
  sw = stopwatch or timing.Stopwatch()
  images, labels = [], []
  for t in trained:
    g = trainer.steps.sampling_generator(t.state)
    for c in t.classes:
      with sw('generation'):
        x = np.asarray(trainer.sample_fn(g, jax.random.fold_in(t.keys.sample, c),
                                         n=int(n_per_class), label=c))
      images.append(x)
      labels.append(np.full(len(x), c, np.int32))
  return np.concatenate(images), np.concatenate(labels)


def judge(images: np.ndarray, labels: np.ndarray, real: dict, classes, collapse_ratio: float,
          names: dict[int, str] | None = None) -> dict:
  """Returns {class name: diversity check with its grid check} of the generated images against
  the real ROIs of each class; a collapsed generator (names: the GAN of each class) is logged as
  a warning."""
  real_images, real_labels = np.asarray(real['image']), np.asarray(real['label'])
  checks = {}
  for c in np.unique(labels).tolist():
    real_c = real_images[real_labels == c]
    d = sample_checks.diversity_check(images[labels == c], real_c, collapse_ratio)
    d['grid'] = sample_checks.grid_check(images[labels == c], real_c)
    checks[classes[c]] = d
    if d['collapsed']:
      logging.warning('%s: generator looks collapsed for class %s: sample diversity %.4f is '
                      '%.1f%% of the real images\' %.4f (threshold %.0f%%); its images are '
                      'flagged in the report', (names or {}).get(c, 'GAN'), classes[c],
                      d['generated'], 100 * d['ratio'], d['real'], 100 * d['threshold'])
  return checks


def write_grids(trainer: GANTrainer, trained: list[TrainedGAN], real: dict, classes,
                grid_dir: str) -> None:
  """Writes <class>.png (GRID_N samples from each GAN's fixed grid noise, the noise of its
  TensorBoard grids) and real_<class>.png (the first GRID_N real ROIs) to grid_dir."""
  real_images, real_labels = np.asarray(real['image']), np.asarray(real['label'])
  for t in trained:
    g = trainer.steps.sampling_generator(t.state)
    for c in t.classes:
      fixed = trainer.sample_fn(g, t.keys.grid, n=GRID_N, label=c)
      grid.save_grid(os.path.join(grid_dir, f'{classes[c]}.png'), np.asarray(fixed), ncol=8,
                     scale=2)
      grid.save_grid(os.path.join(grid_dir, f'real_{classes[c]}.png'),
                     real_images[real_labels == c][:GRID_N], ncol=8, scale=2)


def train_and_sample(trainer: GANTrainer, real: dict, classes, key: jax.Array, ckpt_root: str,
                     progress, n_per_class: int, grid_dir: str | None = None,
                     prefix: str = '', stopwatch: timing.Stopwatch | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict]:
  """Returns (images, labels, checks per class): :func:`train`, :func:`sample` and
  :func:`judge` in turn, and :func:`write_grids` to grid_dir if given."""
  trained = train(trainer, real, classes, key, ckpt_root, progress, prefix, stopwatch)
  images, labels = sample(trainer, trained, n_per_class, stopwatch)
  if grid_dir is not None:
    write_grids(trainer, trained, real, classes, grid_dir)
  names = {c: prefix + t.name for t in trained for c in t.classes}
  return images, labels, judge(images, labels, real, classes, trainer.gcfg.collapse_ratio, names)
