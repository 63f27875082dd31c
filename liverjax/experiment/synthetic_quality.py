"""The quality of every synthetic pool (GAN arms and the oracle), per fold and class, each figure
beside its real reference (:func:`liverjax.evaluation.quality.class_quality`): results.json's
``synthetic_quality``.

The feature space is the penultimate layer of the fold's classic run that the synthetic arms build
on (size config.synthetic.classic_size, first seed): trained on the fold's real training ROIs
only, no download. Metrics in a space learned from the same training set are relative: they rank
pools against each other and against real data, they are not absolute.
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.base import grid
from liverjax.evaluation import memorisation, quality
from liverjax.experiment import context
from liverjax.experiment.arms import ARMS
from liverjax.experiment.runner import Runner

SCALARS = ('fd', 'kid') + quality.PRDC


def reference_classifier(runner: Runner, fold: int):
  """Returns (name, state) of the classic run the synthetic arms of a fold build on, or None
  when the config has no such run or it has no checkpoint."""
  cfg = runner.ctx.config
  size = int(cfg.synthetic.classic_size)
  if 'classic' not in cfg.arms or size not in [int(s) for s in cfg.classic.sizes]:
    return None
  name = context.run_name('classic', size, int(cfg.seeds[0]), fold)
  epoch, state = runner.load_classifier(name)
  return None if epoch is None else (name, state)


def _features(runner: Runner, state, images) -> np.ndarray:
  _, feats = runner.ctx.programs.predict_features(state, jnp.asarray(images))
  return np.asarray(feats)


def synthetic_quality(runner: Runner) -> dict:
  """Returns {arm: {'folds': [{fold, classifier, per_class: {class: class_quality}}],
  'per_class': {class: {metric: {'synthetic', 'real'} means over folds}}} for each arm of the
  config that adds images from a pool; {} without the reference classic runs."""
  ctx, cfg = runner.ctx, runner.ctx.config
  arms = [a for a in cfg.arms if ARMS[a].pool]
  out = {a: [] for a in arms}
  for fold in context.quality_splits(ctx):
    ref = reference_classifier(runner, fold)
    if ref is None or not arms:
      continue
    name, state = ref
    refs = {}
    for arm in arms:
      images, labels = (np.asarray(a) for a in runner.sets.pool(arm, fold))
      per_class = pool_quality(runner, state, fold, images, labels, refs)
      out[arm].append({'fold': fold, 'classifier': name, 'per_class': per_class})
      if len(out[arm]) == 1:   # the first fold judged: the report's caption names it
        closest_pairs(ctx.ds, closest_pairs_path(ctx.workdir, arm), per_class, images, labels,
                       ctx.folds[fold][0])
  return summarize_folds(out, ctx.ds.classes)


def summarize_folds(out: dict, classes) -> dict:
  """Returns {pool: {'folds': [...], 'per_class': means over folds}} of pools' fold lists."""
  return {arm: {'folds': folds, 'per_class': _mean_over_folds(folds, classes)}
          for arm, folds in out.items() if folds}


def pool_quality(runner: Runner, state, fold: int, images: np.ndarray, labels: np.ndarray,
                 refs: dict | None = None) -> dict:
  """Returns {class: class_quality or {'skipped': why}} of one pool of synthetic images (in
  [0, 1], labels) against the fold's real ROIs, in the features of classifier `state`. refs
  caches each class's real reference across pools of the same fold and classifier. Test ROIs
  of a class beyond the pool's size (a benchmark's large test cohort) are subsampled to it."""
  ctx, ds = runner.ctx, runner.ctx.ds
  refs = {} if refs is None else refs
  train_idx, test_idx = ctx.folds[fold]
  real_f = _features(runner, state, ds.images)
  syn_f = _features(runner, state, images)
  per_class = {}
  for c, cname in enumerate(ds.classes):
    tr, te = train_idx[ds.labels[train_idx] == c], test_idx[ds.labels[test_idx] == c]
    mine = labels == c
    if len(te) > mine.sum() > quality.K:   # a large test cohort: a reference of the pool's size
      te = np.sort(np.random.default_rng([fold, c]).choice(te, int(mine.sum()), replace=False))
    if len(te) <= quality.K or mine.sum() < len(te):
      per_class[cname] = {'skipped': f'{len(te)} test ROIs, {int(mine.sum())} synthetic '
                                     f'images: needs more than {quality.K} and as many'}
      continue
    key = jax.random.key(1000 * fold + c)
    with ctx.stopwatch('synthetic quality'):
      if c not in refs:   # the same for every pool of this fold
        refs[c] = quality.real_reference(real_f[tr], real_f[te], ds.images[tr], ds.images[te],
                                         key, ds.groups[te])
      per_class[cname] = quality.class_quality(
          real_f[tr], real_f[te], syn_f[mine], ds.images[tr], ds.images[te], images[mine],
          key, test_groups=ds.groups[te], reference=refs[c])
    warn_copies(per_class[cname]['memorisation']['nn_ratio'], f'fold {fold}, {cname}')
  return per_class


def warn_copies(nn_ratio: dict, where: str, alpha: float = 0.05) -> None:
  """Logs a warning for each space where the synthetic images' copy rate by the ratio rule
  exceeds the real ROIs' (one-sided p < alpha)."""
  for space, t in nn_ratio.items():
    if t['p_greater'] < alpha:
      logging.warning('%s: %.1f%% of the synthetic images are copies of a training ROI by the '
                      'nearest-neighbour ratio rule in %s, against %.1f%% of new real ROIs '
                      '(one-sided p = %.3g)', where, 100 * t['synthetic'], space,
                      100 * t['real'], t['p_greater'])


def closest_pairs_path(workdir: str, arm: str) -> str:
  return os.path.join(workdir, 'figures', f'closest_{arm}.png')


def closest_pairs(ds, path, per_class, images, labels, train_idx) -> None:
  """Writes the figure at path: per class (rows), the 4 synthetic images nearest to a training
  ROI (data set ds, its rows train_idx), each followed by that ROI (best flip, turn and shift not
  applied). per_class[class]['memorisation']: 'closest' indexes the class's synthetic images,
  'closest_train' its training ROIs."""
  rows = []
  for c, cname in enumerate(ds.classes):
    m = per_class[cname]
    if 'skipped' in m:
      continue
    syn = images[labels == c][m['memorisation']['closest']]
    train = ds.images[train_idx[ds.labels[train_idx] == c]][m['memorisation']['closest_train']]
    rows.append(np.stack([syn, train], 1).reshape((-1,) + syn.shape[1:]))
  if rows:
    grid.save_grid(path, np.concatenate(rows), ncol=8, scale=2)


def _mean_auc(sides: list[dict]) -> float | None:
  """Returns the mean C2ST AUC over the folds that could score one (None if none could)."""
  aucs = [s['auc'] for s in sides if s.get('auc') is not None]
  return float(np.mean(aucs)) if aucs else None


def _mean_roc(curves: list) -> dict | None:
  """Returns the C2ST ROC curves of the folds averaged (TPR at each FPR), or None."""
  curves = [c for c in curves if c]
  if not curves:
    return None
  return {'fpr': curves[0]['fpr'], 'tpr': np.mean([c['tpr'] for c in curves], 0).tolist()}


def _mean_over_folds(folds: list[dict], classes) -> dict:
  """Returns each class's figures averaged over folds (synthetic means, references)."""
  out = {}
  for cname in classes:
    per = [f['per_class'][cname] for f in folds if 'skipped' not in f['per_class'][cname]]
    if not per:
      continue
    row = {m: {'synthetic': float(np.mean([p[m]['synthetic']['mean'] for p in per])),
               'real': float(np.mean([p[m]['real'] for p in per]))} for m in SCALARS}
    for space in ('pixels', 'features'):
      row[f'memorised_{space}'] = {
          'synthetic': float(np.mean([p['memorisation'][space]['synthetic'] for p in per])),
          'real': 0.05}
      tests = [p['memorisation']['nn_ratio'][space] for p in per]   # folds' counts pooled
      row[f'copies_{space}'] = memorisation.copy_rate_test(None, None, counts=(
          np.sum([t['copies'] for t in tests], 0).tolist(),
          np.sum([t['n'] for t in tests], 0).tolist()))
    row['c2st'] = {side: _mean_auc([p['c2st'][side] for p in per])
                   for side in ('synthetic', 'real')}
    row['c2st'] |= {
                    'fold_ci95': [p['c2st']['synthetic']['ci95'] for p in per],
                    'roc': {side: _mean_roc([p['c2st'][side].get('roc') for p in per])
                            for side in ('synthetic', 'real')}}
    whys = [p['c2st'][s]['why'] for p in per for s in ('synthetic', 'real')
            if p['c2st'][s].get('why')]
    if any(row['c2st'][s] is None for s in ('synthetic', 'real')):
      row['c2st']['why'] = whys[0]
    out[cname] = row
  return out
