"""The runs an experiment config asks for: (arm, size, seed, fold), their names, keys and
schedules. A run's results are a function of its (arm, size, seed, fold) and the config alone."""

from __future__ import annotations

import dataclasses
import os

import jax

from liverjax.base import errors
from liverjax.experiment.arms import ARMS
from liverjax.steps import epochs


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


def plan(config) -> list[Run]:
  """Returns every run the config asks for, in execution order (arm, size, seed, fold)."""
  check_arms(config)
  return [Run(arm, int(size), int(seed), fold) for arm in config.arms
          for size in ARMS[arm].sizes(config) for seed in config.seeds
          for fold in range(config.folds)]


def schedule(config, run: Run, n_real: int, num_classes: int) -> tuple[int, int]:
  """Returns (epochs, steps per epoch) of a run with n_real real training ROIs:
  config.train.epochs, capped so that the run takes at most config.train.max_steps steps (0 = no
  cap) but always at least one epoch."""
  n = ARMS[run.arm].n_train(config, run.size, n_real, num_classes)
  t = config.train
  return epochs.schedule(n, t.batch_size, t.epochs, t.max_steps)
