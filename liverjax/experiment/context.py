"""What a classifier experiment is made of, built once and checked before anything is written.

Read top to bottom: the runs a config asks for (:class:`Run`, :func:`plan`: (arm, size, seed, fold),
their names, keys and schedules; a run's results are a function of these and the config alone),
the jitted programs every run shares (:class:`Programs`: an epoch, an epoch of stacked folds,
prediction, the training-set builders; as big_vision's update_fn and predict_fn), and the
experiment's shared setting (:class:`Context`: config, workdir, data, folds, mesh, models).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from liverjax import augment
from liverjax.base import errors
from liverjax.base import mesh as mesh_lib
from liverjax.base import timing, workdir as wd
from liverjax.datasets import cohorts, dataset, sources, splits
from liverjax.evaluation import inference
from liverjax.experiment import builders
from liverjax.experiment.arms import ARMS, GENERATOR_ARMS
from liverjax.steps import classifier, epochs


# --- The runs --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Run:
  """One classifier run: trained from scratch on its arm's training set of the fold."""
  arm: str
  size: int
  seed: int
  fold: int

  @property
  def name(self) -> str:
    """The run's name, used for its files (runs/<name>.json, checkpoints/<name>)."""
    return run_name(self.arm, self.size, self.seed, self.fold)

  @property
  def key(self) -> jax.Array:
    return run_key(self.seed, self.fold, self.size)


def run_name(arm: str, size: int, seed: int, fold: int) -> str:
  """Returns the name of one run, used for its files (runs/<name>.json, checkpoints/<name>)."""
  return f'{arm}_n{size}_seed{seed}_fold{fold}'


def record_path(workdir: str, name: str) -> str:
  """Returns where run `name`'s record is written (runs/<name>.json)."""
  return os.path.join(workdir, 'runs', f'{name}.json')


def checkpoint_dir(workdir: str, name: str) -> str:
  """Returns the folder of run `name`'s checkpoints (checkpoints/<name>)."""
  return os.path.join(workdir, 'checkpoints', name)


def last_epoch_path(workdir: str, name: str) -> str:
  """Returns where run `name`'s latest checkpointed epoch's training metrics are kept (beside its
  checkpoints), so that a run resumed at its last epoch still records them."""
  return os.path.join(workdir, 'checkpoints', f'{name}.last_epoch.json')


def run_key(seed: int, fold: int, size: int) -> jax.Array:
  """Returns the PRNG key of one run: a function of (seed, fold, size) only."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), fold), size)


def check_arms(config) -> None:
  """Raises ConfigError if config.arms names an arm that does not exist, or one that trains on
  the pool of an arm it leaves out."""
  for arm in config.arms:
    if arm not in ARMS:
      raise errors.ConfigError(f'config.arms: unknown arm {arm!r} (known: {", ".join(ARMS)})')
    source = ARMS[arm].source
    if source and source not in config.arms:
      raise errors.ConfigError(f'config.arms: {arm} trains on the images of arm {source}; add '
                               f'{source} to config.arms')


def cv_repeats(config) -> int:
  """Returns R, the number of k-fold partitions (config.cv.repeats; 1 for configs without it)."""
  return int(config.get('cv', {}).get('repeats', 1))


def is_replicates(config) -> bool:
  """True for the design of independent replicates (config.design, configs/benchmark.py)."""
  return config.get('design', 'cv') == 'replicates'


def split_indices(config) -> list[int]:
  """Returns the splits this workdir runs (a run's `fold` is its split's index): the k R
  (repeat, fold) splits of cross-validation, or this part's replicates."""
  if is_replicates(config):   # this part's: config.replicates.first, and count after it
    r = config.replicates
    return list(range(int(r.first), int(r.first) + int(r.count)))
  return list(range(int(config.folds) * cv_repeats(config)))


def quality_splits(ctx) -> list[int]:
  """Returns the splits whose pools the GAN checks judge: the first repeat's folds, or every
  replicate of this part."""
  return sorted(ctx.folds) if is_replicates(ctx.config) else sorted(ctx.folds)[:ctx.config.folds]


def plan(config) -> list[Run]:
  """Returns every run the config asks for, in execution order (arm, size, seed, split)."""
  check_arms(config)
  return [Run(arm, int(size), int(seed), fold) for arm in config.arms
          for size in ARMS[arm].sizes(config) for seed in config.seeds
          for fold in split_indices(config)]


def schedule(config, run: Run, n_real: int, num_classes: int) -> tuple[int, int]:
  """Returns (epochs, steps per epoch) of a run with n_real real training ROIs:
  config.train.epochs, capped so that the run takes at most config.train.max_steps steps (0 = no
  cap) but always at least one epoch."""
  n = ARMS[run.arm].n_train(config, run.size, n_real, num_classes)
  t = config.train
  return epochs.schedule(n, t.batch_size, t.epochs, t.max_steps)


# --- The jitted programs -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Programs:
  """Jitted functions; each compiles once per input shape."""
  epoch: Callable           # (state, set, n, key, online: static) -> (state, metrics); donates
  epoch_folds: Callable     # the same over stacked folds (config.train.vmap_folds)
  stack: Callable           # [tree, ...] -> tree stacked on a new leading axis (replicated)
  fold_state: Callable      # (stacked state, i: static) -> the i-th state
  mean_image: Callable      # (images, n) -> the mean of the first n images
  predict: Callable         # (state, images) -> logits
  predict_features: Callable  # (state, images) -> (logits, penultimate features)
  classic_augment: Callable   # (key, images, labels, diameter_px, n, size: static) -> set
  mix_synthetic: Callable     # augment.mix_synthetic with per_class static


def build_programs(config, model, tx, mesh) -> Programs:
  """Returns the experiment's jitted programs for the classifier `model` and optimizer `tx`."""
  batch_sharding = mesh_lib.batch_sharded(mesh)
  online = (lambda k, x, d: augment.random_variant(
      k, x, d, tuple(config.augment.scale_range), config.augment.shift_cap_px)
            ) if config.classic.online else None
  step_fn = functools.partial(classifier.train_step, model=model, tx=tx)
  # Training sets come with their number of examples n (traced): a fold's real ROIs are padded
  # to whole batches (padding.pad_rows), so folds of similar size share one compilation.
  epoch = lambda s, d, n, k, aug: epochs.train_epoch(
      s, d, k, step_fn=step_fn, batch_size=config.train.batch_size,
      batch_sharding=batch_sharding, augment_fn=online if aug else None, n=n)
  replicated = mesh_lib.replicated(mesh)
  return Programs(
      epoch=jax.jit(epoch, static_argnums=4, donate_argnums=0),
      epoch_folds=jax.jit(
          lambda s, d, n, k, aug: jax.vmap(functools.partial(epoch, aug=aug))(s, d, n, k),
          static_argnums=4, donate_argnums=0),
      stack=jax.jit(lambda trees: jax.tree.map(lambda *a: jnp.stack(a), *trees),
                    out_shardings=replicated),
      fold_state=jax.jit(lambda s, i: jax.tree.map(lambda a: a[i], s), static_argnums=1,
                         out_shardings=replicated),
      mean_image=jax.jit(lambda x, n: jnp.sum(
          jnp.where((jnp.arange(x.shape[0]) < n)[:, None, None, None], x, 0.0), 0) / n),
      predict=jax.jit(lambda s, x: classifier.predict(
          s, x, model=model, batch_size=config.train.batch_size, batch_sharding=batch_sharding)),
      predict_features=jax.jit(lambda s, x: classifier.predict(
          s, x, model=model, batch_size=config.train.batch_size, batch_sharding=batch_sharding,
          return_features=True)),
      classic_augment=jax.jit(
          lambda k, x, y, d, n, size: augment.classic_augment(
              k, x, y, d, size, tuple(config.augment.scale_range), config.augment.shift_cap_px,
              n=n), static_argnums=5),
      mix_synthetic=jax.jit(augment.mix_synthetic, static_argnums=5))


# --- The shared setting ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Context:
  """The experiment's shared, read-only setting (its stopwatch and writer accumulate)."""
  config: Any
  workdir: str
  ds: dataset.Dataset
  folds: dict                 # {split: (train_idx, test_idx)}: repeat r, fold f is r k + f; a
                              # replicate's split is its index (this workdir's part only)
  mesh: Any
  model: Any                  # the classifier module
  tx: Any                     # its optimizer
  gan_setups: dict            # {kind: GANSetup} of the config's GAN arms
  real: dict                  # all ROIs on the device: {'image', 'label', 'diameter_px'}
  programs: Programs
  stopwatch: timing.Stopwatch
  writer: wd.ScalarWriter     # TensorBoard; writes nothing until first used

  @property
  def num_classes(self) -> int:
    return len(self.ds.classes)

  @property
  def design(self) -> inference.Design:
    """The experiment's units for inference: its splits, correlated through shared training
    ROIs (the mean n_test / n_train over splits)."""
    if is_replicates(self.config):
      return inference.Design.replicates(len(self.folds))
    ratio = float(np.mean([len(test) / len(train) for train, test in self.folds.values()]))
    return inference.Design.cv(int(self.config.folds), cv_repeats(self.config), ratio)

  def schedule(self, run: Run) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) of a run (:func:`schedule`)."""
    return schedule(self.config, run, len(self.folds[run.fold][0]), self.num_classes)


def build(config, workdir: str, ds: dataset.Dataset | None = None,
          stopwatch: timing.Stopwatch | None = None) -> Context:
  """Returns the Context of config in workdir; raises a LiverjaxError for refused data or config
  (loads the data set unless given; writes nothing)."""
  stopwatch = stopwatch or timing.Stopwatch()
  check_arms(config)
  if 'real' in config.arms and config.data.source != 'phantom':
    raise errors.ConfigError(f'config.arms: the real arm draws fresh phantom ROIs, so it needs '
                             f'data.source=phantom (not {config.data.source!r}); leave it out')
  with stopwatch('data'):
    if is_replicates(config):
      if int(config.replicates.count) < 1:
        raise errors.ConfigError('config.replicates.count=0: no replicates to run (configs/'
                                 'benchmark.py: REPLICATES is frozen from the pilot)')
      if config.data.source != 'phantom':
        raise errors.ConfigError('design=replicates draws phantom cohorts: it needs '
                                 f'data.source=phantom (not {config.data.source!r})')
      r = config.replicates
      ds, folds = cohorts.load(config.data.phantom, tuple(r.train_counts), r.test_per_class,
                               split_indices(config))
    else:
      ds = sources.load(config.data) if ds is None else ds
      folds = dict(enumerate(splits.experiment_folds(
          ds.labels, ds.groups, config.data, config.folds, config.split_seed,
          cv_repeats(config))))
  mesh = mesh_lib.make_mesh(config.get('num_devices') or None)
  mesh_lib.check_batch_size(config.train.batch_size, mesh)
  model = builders.make_classifier(config.model, len(ds.classes))
  tx = builders.make_classifier_optimizer(config.train)
  # GAN arms' modules and optimizers: built (and a bad config refused) now, not after hours
  gan_setups = {kind: builders.make_gan_setup(config[kind], len(ds.classes))
                for kind in config.arms if kind in GENERATOR_ARMS}
  diam = np.where(np.isnan(ds.diameter_px), config.augment.default_diameter_px,
                  ds.diameter_px).astype(np.float32)
  real = mesh_lib.put_replicated(
      {'image': ds.images, 'label': ds.labels, 'diameter_px': diam}, mesh)
  return Context(config=config, workdir=workdir, ds=ds, folds=folds, mesh=mesh, model=model,
                 tx=tx, gan_setups=gan_setups, real=real,
                 programs=build_programs(config, model, tx, mesh), stopwatch=stopwatch,
                 writer=wd.ScalarWriter(os.path.join(workdir, 'tensorboard')))
