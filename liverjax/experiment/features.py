"""Classifier features saved for later stages: the penultimate-layer features of fold 0's real
test ROIs and of synthetic images, for the report's t-SNE (as the paper's figure)."""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np

from liverjax.base import workdir as wd
from liverjax.experiment import context
from liverjax.experiment.arms import GENERATOR_ARMS
from liverjax.experiment.runner import Runner

TSNE_PATH = os.path.join('features', 'tsne.npz')
SYNTHETIC_PER_CLASS = 60
REAL_MAX = 600   # real test ROIs at most (a t-SNE of 10,000 would take minutes)


def write_tsne_features(runner: Runner, results: dict) -> str | None:
  """Writes features/tsne.npz and returns its path (None when the run has no checkpoint).

  The classifier is the first GAN arm's run at its headline size (else the last arm's), first
  seed, fold 0. Rows: fold 0's real test ROIs, then up to SYNTHETIC_PER_CLASS images per class
  of each GAN arm's pool. Arrays: ``features`` (N, D), ``labels``, ``source`` ('real' or the GAN
  kind), and ``classifier`` (the run's name).
  """
  ctx = runner.ctx
  cfg, ds = ctx.config, ctx.ds
  gan_arms = [a for a in cfg.arms if a in GENERATOR_ARMS]
  arm = gan_arms[0] if gan_arms else cfg.arms[-1]
  first = min(ctx.folds)   # the first split (fold 0, or a part's first replicate)
  name = context.run_name(arm, results['arms'][arm]['size'], cfg.seeds[0], first)
  step, state = runner.load_classifier(name)
  if step is None:
    return None
  test_idx = ctx.folds[first][1]
  if len(test_idx) > REAL_MAX:   # a benchmark's large test cohort: a t-SNE of a few hundred
    test_idx = np.sort(np.random.default_rng(0).choice(test_idx, REAL_MAX, replace=False))
  images, labels = [np.asarray(ds.images[test_idx])], [ds.labels[test_idx]]
  source = [np.full(len(test_idx), 'real')]
  for kind in gan_arms:
    gen_images, gen_labels = runner.sets.pool(kind, first)
    gen_labels = np.asarray(gen_labels)
    pick = np.concatenate([np.flatnonzero(gen_labels == c)[:SYNTHETIC_PER_CLASS]
                           for c in range(ctx.num_classes)])
    images.append(np.asarray(gen_images)[pick])
    labels.append(gen_labels[pick])
    source.append(np.full(len(pick), kind))
  _, feats = ctx.programs.predict_features(state, jnp.asarray(np.concatenate(images)))
  path = os.path.join(ctx.workdir, TSNE_PATH)
  wd.write_npz(path, features=np.asarray(feats), labels=np.concatenate(labels),
               source=np.concatenate(source), classifier=np.asarray(name))
  return path
