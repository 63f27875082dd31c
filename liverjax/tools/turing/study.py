"""Draws a reader study's images from a workdir: real ROIs and synthetic samples, balanced per class.

- A classifier experiment with a GAN arm: real ROIs from the folds' test sets (each ROI is a test
  ROI of exactly one fold); synthetic images from that arm's pools (each fold's GANs, restored from
  their checkpoints), across folds.
- A GAN job trained on one fold (``gan.fold=k``): fold k's test ROIs and ``samples.npz``.
- A GAN job trained on all data (``gan.fold=-1``): it held no ROIs out, so the real images are
  drawn from the data set it trained on; the study's ``real_source`` says so.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np

from liverjax.base import errors, workdir as wd
from liverjax.datasets import sources, splits
from liverjax.experiment import context
from liverjax.experiment.arms import ARMS
from liverjax.experiment.training_sets import TrainingSets
from liverjax.tools.turing import store


def _experiment(workdir: str, config: ml_collections.ConfigDict, arm: str | None):
  """Returns (real images, labels, origins), (synthetic ...), classes, real_source, arm."""
  gan_arms = [a for a in config.arms if ARMS[a].pool == 'generator']
  arm = arm or (gan_arms[0] if gan_arms else None)
  if arm not in gan_arms:
    raise errors.ConfigError(f'{workdir}: arm {arm!r} is not one of its GAN arms {gan_arms}')
  if wd.read_json(os.path.join(workdir, 'results.json')) is None:
    raise errors.WorkdirError(f'{workdir}: no results.json; finish the experiment first')
  config.progress = False
  ctx = context.build(config, workdir)
  sets = TrainingSets(ctx)
  real = [], [], []
  fake = [], [], []
  for fold, (_, test_idx) in ctx.folds.items():
    real[0].append(ctx.ds.images[test_idx])
    real[1].append(ctx.ds.labels[test_idx])
    real[2].extend(f'ROI {i} (fold {fold} test set)' for i in test_idx)
    images, labels = (np.asarray(x) for x in sets.pool(arm, fold))
    fake[0].append(images)
    fake[1].append(labels)
    fake[2].extend(f'{arm} fold {fold} sample {j}' for j in range(len(images)))
  cat = lambda t: (np.concatenate(t[0]), np.concatenate(t[1]), t[2])
  return cat(real), cat(fake), list(ctx.ds.classes), 'the folds\' test ROIs', arm


def _gan_job(workdir: str, config: ml_collections.ConfigDict):
  """Returns what _experiment does, for a GAN job."""
  path = os.path.join(workdir, 'samples.npz')
  if not os.path.exists(path):
    raise errors.WorkdirError(f'{workdir}: no samples.npz; finish the GAN job first')
  with np.load(path) as z:
    fake = z['images'], z['labels'], [f'samples.npz {j}' for j in range(len(z['labels']))]
    classes = [str(c) for c in z['classes']]
  ds = sources.load(config.data)
  fold = int(config.gan.fold)
  if fold >= 0:
    folds = splits.experiment_folds(ds.labels, ds.groups, config.data, config.folds,
                                    config.split_seed)
    idx, real_source, where = folds[fold][1], f'fold {fold}\'s test ROIs', f'fold {fold} test set'
  else:
    idx, where = np.arange(len(ds.labels)), 'GAN training set'
    real_source = ('the data set the GANs trained on (the job held no ROIs out: train it with '
                   '--config.gan.fold=k for unseen real ROIs)')
  real = ds.images[idx], ds.labels[idx], [f'ROI {i} ({where})' for i in idx]
  return real, fake, classes, real_source, config.gan.kind


def _pick(labels, per_class: int, classes: list[int], rng, what: str, names) -> np.ndarray:
  picked = []
  for c in classes:
    pool = np.flatnonzero(labels == c)
    if len(pool) < per_class:
      raise errors.ConfigError(f'{per_class} {what} images of class {names[c]} asked for, '
                               f'{len(pool)} available')
    picked.append(rng.choice(pool, per_class, replace=False))
  return np.concatenate(picked) if picked else np.zeros(0, int)


def draw(workdir: str, n_real: int, n_synthetic: int, class_names=None, seed: int = 0,
         arm: str | None = None) -> dict:
  """Returns the study's images (N, H, W) in [0, 1], synthetic flags, labels, origins and meta:
  n_real real and n_synthetic synthetic images per class (seeded)."""
  config_dict = wd.read_json(os.path.join(workdir, 'config.json'))
  if config_dict is None:
    raise errors.WorkdirError(f'{workdir}: no config.json (not a liverjax workdir)')
  config = ml_collections.ConfigDict(config_dict)
  if config_dict.get('job') == 'gan':
    real, fake, classes, real_source, source = _gan_job(workdir, config)
  else:
    real, fake, classes, real_source, source = _experiment(workdir, config, arm)
  chosen = list(class_names or classes)
  unknown = sorted(set(chosen) - set(classes))
  if unknown:
    raise errors.ConfigError(f'classes {unknown}: not among {classes}')
  cidx = [classes.index(c) for c in chosen]
  rng = np.random.default_rng(seed)
  r = _pick(real[1], n_real, cidx, rng, 'real', classes)
  s = _pick(fake[1], n_synthetic, cidx, rng, 'synthetic', classes)
  images = np.concatenate([real[0][r], fake[0][s]])[..., 0]
  return {'images': images, 'synthetic': np.r_[np.zeros(len(r), int), np.ones(len(s), int)],
          'labels': np.r_[real[1][r], fake[1][s]],
          'origins': [real[2][i] for i in r] + [fake[2][i] for i in s],
          'meta': {'classes': classes, 'asked_classes': chosen, 'real_source': real_source,
                   'synthetic_source': source, 'n_real_per_class': n_real,
                   'n_synthetic_per_class': n_synthetic, 'seed': seed}}


def create(workdir: str, n_real: int, n_synthetic: int, class_names=None, readers: int = 2,
           arm: str | None = None, seed: int = 0, allow_changes: bool = False) -> dict:
  """Draws a new study into W/turing/study.sqlite; returns {reader name: token}. Refuses to
  overwrite an existing study."""
  db_path = store.path(workdir)
  if os.path.exists(db_path):
    raise errors.WorkdirError(f'{db_path} exists: a study\'s answers are never overwritten; '
                              'move it away to start another')
  d = draw(workdir, n_real, n_synthetic, class_names, seed, arm)
  meta = dict(d['meta'], allow_changes=bool(allow_changes))
  names = [f'reader{i + 1}' for i in range(readers)]
  return store.create(db_path, d['images'], d['synthetic'], d['labels'], d['origins'], names,
                      meta, seed)
