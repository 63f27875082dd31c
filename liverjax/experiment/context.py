"""What every run of a classifier experiment shares: config, workdir, data, folds, mesh, models,
optimizer and jitted programs, built once and checked before anything is written."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from liverjax.base import errors
from liverjax.base import mesh as mesh_lib
from liverjax.base import timing, workdir as wd
from liverjax.datasets import dataset, sources, splits
from liverjax.experiment import builders, plan, programs
from liverjax.experiment.arms import GAN_ARMS


@dataclasses.dataclass(frozen=True)
class Context:
  """The experiment's shared, read-only setting (its stopwatch and writer accumulate)."""
  config: Any
  workdir: str
  ds: dataset.Dataset
  folds: list                 # [(train_idx, test_idx)] per fold
  mesh: Any
  model: Any                  # the classifier module
  tx: Any                     # its optimizer
  gan_setups: dict            # {kind: GANSetup} of the config's GAN arms
  real: dict                  # all ROIs on the device: {'image', 'label', 'diameter_px'}
  programs: programs.Programs
  stopwatch: timing.Stopwatch
  writer: wd.ScalarWriter     # TensorBoard; writes nothing until first used

  @property
  def num_classes(self) -> int:
    return len(self.ds.classes)

  def schedule(self, run: plan.Run) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) of a run (:func:`liverjax.experiment.plan.schedule`)."""
    return plan.schedule(self.config, run, len(self.folds[run.fold][0]), self.num_classes)


def build(config, workdir: str, ds: dataset.Dataset | None = None,
          stopwatch: timing.Stopwatch | None = None) -> Context:
  """Returns the Context of config in workdir; raises a LiverjaxError for refused data or config
  (loads the data set unless given; writes nothing)."""
  stopwatch = stopwatch or timing.Stopwatch()
  plan.check_arms(config)
  if 'real' in config.arms and config.data.source != 'phantom':
    raise errors.ConfigError(f'config.arms: the real arm draws fresh phantom ROIs, so it needs '
                             f'data.source=phantom (not {config.data.source!r}); leave it out')
  with stopwatch('data'):
    ds = sources.load(config.data) if ds is None else ds
    folds = splits.experiment_folds(ds.labels, ds.groups, config.data, config.folds,
                                    config.split_seed)
  mesh = mesh_lib.make_mesh(config.get('num_devices') or None)
  mesh_lib.check_batch_size(config.train.batch_size, mesh)
  model = builders.make_classifier(config.model, len(ds.classes))
  tx = builders.make_classifier_optimizer(config.train)
  # GAN arms' modules and optimizers: built (and a bad config refused) now, not after hours
  gan_setups = {kind: builders.make_gan_setup(config[kind], len(ds.classes))
                for kind in config.arms if kind in GAN_ARMS}
  diam = np.where(np.isnan(ds.diameter_px), config.augment.default_diameter_px,
                  ds.diameter_px).astype(np.float32)
  real = mesh_lib.put_replicated(
      {'image': ds.images, 'label': ds.labels, 'diameter_px': diam}, mesh)
  return Context(config=config, workdir=workdir, ds=ds, folds=folds, mesh=mesh, model=model,
                 tx=tx, gan_setups=gan_setups, real=real,
                 programs=programs.build(config, model, tx, mesh), stopwatch=stopwatch,
                 writer=wd.ScalarWriter(os.path.join(workdir, 'tensorboard')))
