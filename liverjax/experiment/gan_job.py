"""The GAN job behind configs/dcgan.py and configs/acgan.py: the paper's GANs on a data set.

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
  gan_summary.json                       models, classes, sample diversity and grid checks,
                                         provenance (also every launch's: provenance.json)

Before training it logs its plan (GANs, steps) and an estimate of the training time from steps
timed on the machine (``config.estimate``). A NaN or inf loss stops training with
:class:`~liverjax.base.errors.GANDivergedError`; the last good checkpoint stays.
"""

from __future__ import annotations

import logging
import os

import jax
import ml_collections
import numpy as np
import tqdm

from liverjax.base import checkpoints, errors, timing, workdir as wd
from liverjax.base import mesh as mesh_lib
from liverjax.base import provenance
from liverjax.datasets import sources, splits
from liverjax.experiment import builders, estimate, gan_trainer
from liverjax.steps import gan


def run(config, workdir: str) -> dict:
  """Trains the GAN(s) config.gan describes and writes samples; returns a summary dict."""
  sw = timing.Stopwatch()
  gcfg = config.gan
  with sw('data'):
    ds = sources.load(config.data)    # everything that can be refused is checked before any write
  if gcfg.fold >= config.folds:
    raise errors.ConfigError(f'config.gan.fold={gcfg.fold}: there are only config.folds='
                             f'{config.folds} folds (0..{config.folds - 1}, or -1 for all data)')
  if gcfg.fold >= 0:
    folds = splits.experiment_folds(ds.labels, ds.groups, config.data, config.folds,
                                    config.split_seed)
    train_idx = folds[gcfg.fold][0]
  else:
    train_idx = np.arange(len(ds))
  mesh = mesh_lib.make_mesh(config.get('num_devices') or None)
  setup = builders.make_gan_setup(gcfg, len(ds.classes))
  mesh_lib.check_batch_size(gcfg.batch_size, mesh)
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  launch = provenance.record_launch(workdir)
  writer = wd.ScalarWriter(os.path.join(workdir, 'tensorboard'))
  trainer = gan_trainer.GANTrainer(setup, gcfg, mesh, writer, tuple(config.augment.scale_range),
                       config.augment.shift_cap_px)
  diam = np.where(np.isnan(ds.diameter_px), config.augment.default_diameter_px, ds.diameter_px)
  real = mesh_lib.put_replicated({'image': ds.images[train_idx], 'label': ds.labels[train_idx],
                                  'diameter_px': diam[train_idx].astype(np.float32)}, mesh)
  key = jax.random.key(config.seeds[0])
  total = trainer.total_steps(ds.classes)
  if config.get('estimate', True):
    seconds = total * estimate.gan_step_seconds(setup, gcfg.batch_size, len(ds.classes))
    n = len(gan_trainer.model_names(gcfg.kind, ds.classes))
    logging.info('plan: %d %s (%s steps); about %.0f min of training on %s, timed on %d steps '
                 '(plus compilation and sampling; a resumed job restores what it has)', n,
                 gan_trainer.plural(gcfg.kind, n), f'{total:,}', seconds / 60, estimate.where(),
                 estimate.TIMED_STEPS)
  progress = tqdm.tqdm(total=total, desc=f'{gcfg.kind} training', unit='step',
                       disable=not config.get('progress', True), smoothing=0.05)
  images, labels, diversity = gan_trainer.train_and_sample(trainer, real, ds.classes, key,
                                               os.path.join(workdir, 'gan'), progress,
                                               gcfg.samples_per_class,
                                               os.path.join(workdir, 'samples'), stopwatch=sw)
  progress.close()
  writer.close()
  write_samples(os.path.join(workdir, 'samples.npz'), images, labels, ds.classes)
  models = [n for n, _ in gan_trainer.model_names(gcfg.kind, ds.classes)]
  summary = {'kind': gcfg.kind, 'models': models, 'classes': list(ds.classes),
             'n_train_real': int(len(train_idx)), 'samples': int(len(images)),
             'sample_std_per_class': {ds.classes[c]: float(images[labels == c].std(0).mean())
                                      for c in np.unique(labels)},
             'diversity': diversity,
             'collapsed': sorted(c for c, d in diversity.items() if d['collapsed']),
             'provenance': launch}
  wd.write_json(os.path.join(workdir, 'gan_summary.json'), summary)
  wd.write_json(os.path.join(workdir, 'timing.json'), sw.log())
  return summary


def write_samples(path: str, images: np.ndarray, labels: np.ndarray, classes) -> str:
  """Writes generated images as .npz (images in [0, 1], labels, classes) atomically (process 0)."""
  return wd.write_npz(path, images=images, labels=labels, classes=np.asarray(classes))


def load_generator(workdir: str):
  """Returns (setup, {name: generator TrainState}, classes) restored from a GAN job's workdir."""
  cfg = ml_collections.ConfigDict(wd.read_json(os.path.join(workdir, 'config.json')))
  summary = wd.read_json(os.path.join(workdir, 'gan_summary.json'))
  if summary is None:
    raise errors.WorkdirError(f'{workdir}: no finished GAN job (gan_summary.json missing)')
  classes = summary['classes']
  setup = builders.make_gan_setup(cfg.gan, len(classes))
  generators = {}
  for name, _ in gan_trainer.model_names(cfg.gan.kind, classes):
    steps = gan_trainer.steps_of(setup)
    template = steps.init_state(setup, jax.random.key(0))
    mngr = checkpoints.checkpoint_manager(
        gan_trainer.checkpoint_dir(os.path.join(workdir, 'gan'), name))
    step, state = checkpoints.restore_latest(mngr, template)
    mngr.close()
    if step is None:
      raise errors.WorkdirError(f'{workdir}: no checkpoint for {name}')
    generators[name] = steps.sampling_generator(state)
  return setup, generators, classes
