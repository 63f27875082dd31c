"""Judges synthetic images beside real data: python -m liverjax.tools.quality --workdir=W.

A classifier experiment: rebuilds each fold's pools from the workdir (GAN checkpoints are
restored, not retrained; the oracle's fresh ROIs are drawn again from their seeds), computes
``synthetic_quality`` and ``oracle_share`` (:mod:`liverjax.experiment.synthetic_quality`), writes
them into results.json and rebuilds the report; for a workdir run with
``--config.synthetic.quality=False``, or one written before these checks existed.

A GAN job trained on one fold's training ROIs (``--config.gan.fold=k``): judges its
``samples.npz`` against that fold's real test ROIs, in the features of a classic classifier it
trains on the same training ROIs (the job's data and model config; ``--classic_size`` variants,
``--steps`` SGD steps at ``--learning_rate``, the ``:quick`` budget by default) in W/quality/,
and the same classifier's GAN-test: the share of each class's samples it assigns to that class,
beside its sensitivity on the fold's real test ROIs. Writes W/quality.json, W/quality.md and
W/figures/closest.png. A GAN job trained on all data (``gan.fold=-1``) has no held-out real ROIs
to compare with: for it the tool says so and writes only what needs none (nearest-training
distances and closest pairs).
"""

from __future__ import annotations

import glob
import os
import sys

import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags

from liverjax import report
from liverjax.base import errors, grid, workdir as wd
from liverjax.datasets import sources
from liverjax.evaluation import memorisation
from liverjax.experiment import classifier_job, context, plan, summary, synthetic_quality
from liverjax.experiment.runner import Runner
from liverjax.report import markdown, quality as quality_report

FLAGS = flags.FLAGS
QUICK_STEPS = 1200   # the :quick classifier budget (configs/common.py:quick_classifier)


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment, or of a GAN '
                      'job trained on one fold (--config.gan.fold=k).')
  flags.DEFINE_integer('classic_size', 1000, 'GAN job: classic variants the feature '
                       'classifier trains on.')
  flags.DEFINE_integer('steps', QUICK_STEPS, 'GAN job: the feature classifier\'s SGD steps.')
  flags.DEFINE_float('learning_rate', 0.01, 'GAN job: its learning rate.')


def judge(workdir: str) -> dict:
  """Adds synthetic_quality and oracle_share to a finished experiment's results.json; returns
  the updated results."""
  config_dict, results = (wd.read_json(os.path.join(workdir, n))
                          for n in ('config.json', 'results.json'))
  if config_dict is None or results is None:
    raise errors.WorkdirError(f'{workdir}: no config.json and results.json (is it a finished '
                              'classifier experiment?)')
  if config_dict.get('job', 'classifier') != 'classifier':
    raise errors.WorkdirError(f'{workdir}: a {config_dict["job"]} job; this judges the pools of '
                              'a classifier experiment (an experiment with GAN arms)')
  config = ml_collections.ConfigDict(config_dict)
  config.progress = False
  runner = Runner(context.build(config, workdir))
  records = [wd.read_json(p) for p in sorted(glob.glob(os.path.join(workdir, 'runs', '*.json')))]
  share = summary.oracle_share(records, config)
  if share:
    results['oracle_share'] = share
  results['synthetic_quality'] = synthetic_quality.synthetic_quality(runner)
  wd.write_json(os.path.join(workdir, 'results.json'), results)
  report.write(workdir)
  return results


def feature_classifier_config(gan_config: dict, classic_size: int, steps: int,
                              learning_rate: float) -> ml_collections.ConfigDict:
  """Returns the classifier experiment that trains a GAN job's feature classifier: the job's
  data, folds and model, arm classic at classic_size, its first seed, the given budget."""
  c = ml_collections.ConfigDict(gan_config)
  del c['gan']
  c.job = 'classifier'
  c.arms = ('classic',)
  c.classic.sizes = (classic_size,)
  c.synthetic.classic_size = classic_size
  c.seeds = (int(c.seeds[0]),)
  c.train.max_steps = steps
  c.train.learning_rate = learning_rate
  c.progress = False
  return c


def pool_label(gan: dict) -> str:
  """Returns a GAN job's name in its tables: its kind, and the data-efficient options it has on
  (configs/common.py:data_efficient), e.g. 'dcgan + augment=translation,cutout + r1=1'."""
  on = [f'augment={gan["augment"]}' if gan.get('augment') else '',
        f'ada={gan["ada_target"]:g}' if gan.get('ada_target') else '',
        f'r1={gan["r1_gamma"]:g}' if gan.get('r1_gamma') else '',
        f'g_upsample={gan["g_upsample"]}' if gan.get('g_upsample', 'transposed') != 'transposed'
        else '',
        f'd_norm={gan["d_norm"]}' if gan.get('d_norm', 'batch') != 'batch' else '']
  return ' + '.join([gan['kind']] + [o for o in on if o])


def judge_gan_job(workdir: str, classic_size: int = 1000, steps: int = QUICK_STEPS,
                  learning_rate: float = 0.01) -> dict:
  """Returns (and writes to workdir/quality.json, quality.md) the quality of a GAN job's
  samples.npz against the real test ROIs of the fold it was trained on."""
  config_dict = wd.read_json(os.path.join(workdir, 'config.json'))
  path = os.path.join(workdir, 'samples.npz')
  if config_dict is None or config_dict.get('job') != 'gan' or not os.path.exists(path):
    raise errors.WorkdirError(f'{workdir}: no finished GAN job (config.json, samples.npz)')
  fold = int(config_dict['gan']['fold'])
  if fold < 0:
    return judge_all_data_job(workdir, config_dict)
  config = feature_classifier_config(config_dict, classic_size, steps, learning_rate)
  qdir = os.path.join(workdir, 'quality')
  ctx = context.build(config, qdir)
  with np.load(path) as z:
    images, labels, classes = z['images'], z['labels'], [str(c) for c in z['classes']]
  if classes != list(ctx.ds.classes):
    raise errors.WorkdirError(f'{path}: classes {classes}, the data set {list(ctx.ds.classes)}')
  wd.check_config(qdir, config.to_dict(), False)
  runner = Runner(ctx)
  run = plan.Run('classic', classic_size, int(config.seeds[0]), fold)
  record = classifier_job.train_runs(runner, [run])[0]
  _, state = runner.load_classifier(run.name)
  per_class = synthetic_quality.pool_quality(runner, state, fold, images, labels)
  synthetic_quality.closest_pairs(ctx, os.path.join(workdir, 'figures', 'closest.png'),
                                  per_class, images, labels, ctx.folds[fold][0])
  kind = pool_label(config_dict['gan'])
  q = synthetic_quality.summarize_folds(
      {kind: [{'fold': fold, 'classifier': run.name, 'per_class': per_class}]}, ctx.ds.classes)
  out = {'fold': fold, 'classifier': {'run': run.name, 'accuracy': record['accuracy'],
                                      'final_train': record.get('final_train')},
         'synthetic_quality': q,
         'gan_fidelity': {kind: gan_test(ctx, state, images, labels, record, fold, run.name)}}
  wd.write_json(os.path.join(workdir, 'quality.json'), out)
  lines = (quality_report.synthetic_quality({'synthetic_quality': q})
           + markdown.fidelity(config.to_dict(), out))
  with open(os.path.join(workdir, 'quality.md'), 'w') as f:
    f.write('\n'.join(lines + [f'Fold {fold}; features and GAN-test of {run.name} (test '
                               f'accuracy {100 * record["accuracy"]:.1f}%), in quality/.', '']))
  return out


def judge_all_data_job(workdir: str, config_dict: dict) -> dict:
  """Returns (and writes to quality.json, quality.md, figures/closest.png) what can be judged of
  a GAN job trained on all data (gan.fold=-1), where no real ROIs were held out: each class's
  nearest-training pixel distances (over flips, turns and shifts up to 4 px) and its closest
  pairs, without the held-out reference that would say how near is too near."""
  ds = sources.load(ml_collections.ConfigDict(config_dict['data']))
  with np.load(os.path.join(workdir, 'samples.npz')) as z:
    images, labels = z['images'], z['labels']
  per_class, rows = {}, []
  for c, cname in enumerate(ds.classes):
    train = ds.images[ds.labels == c]
    d, idx = (np.asarray(a) for a in memorisation.nearest_distances(
        jnp.asarray(images[labels == c], jnp.float32), jnp.asarray(train, jnp.float32)))
    if not len(d):
      continue
    q = np.percentile(d, [0, 5, 50])
    per_class[cname] = {'n': int(len(d)), 'nearest_train_min': float(q[0]),
                        'nearest_train_p5': float(q[1]), 'nearest_train_median': float(q[2])}
    near = np.argsort(d)[:4]
    rows.append(np.stack([images[labels == c][near], train[idx[near]]], 1)
                .reshape((-1,) + images.shape[1:]))
  if rows:
    grid.save_grid(os.path.join(workdir, 'figures', 'closest.png'), np.concatenate(rows),
                   ncol=8, scale=2)
  out = {'fold': -1, 'held_out': None, 'nearest_train': per_class}
  wd.write_json(os.path.join(workdir, 'quality.json'), out)
  lines = ['## Synthetic image quality (GAN trained on all data)', '',
           'No real ROIs were held out (`gan.fold=-1`), so nothing here has a real reference: '
           'the features, FD, KID, precision/recall/density/coverage, C2ST and GAN-test need '
           'one (train the GAN with `--config.gan.fold=k`, or run an experiment with its arm). '
           'What needs none: each synthetic image\'s RMS pixel distance to its nearest real ROI '
           'of its class (over flips, turns and shifts up to 4 px; 0 = a copy), and the 4 '
           'nearest pairs per class in figures/closest.png (each image, then its ROI).', '']
  lines += markdown._table(['class', 'images', 'nearest distance: min', '5th percentile',
                            'median'], [[c, str(v['n'])] + [f'{v[k]:.3f}' for k in (
                                'nearest_train_min', 'nearest_train_p5', 'nearest_train_median')]
                                        for c, v in per_class.items()])
  with open(os.path.join(workdir, 'quality.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return out


def gan_test(ctx, state, images, labels, record: dict, fold: int, name: str) -> dict:
  """Returns the GAN-test of samples (images, labels) under a fold's classic classifier, in the
  experiment's gan_fidelity layout (liverjax.experiment.summary.gan_fidelity) with one fold."""
  f = summary.fold_fidelity(ctx, state, images, labels, record['confusion'], fold, name)
  return {'per_class': {c: {'synthetic': float(f['synthetic'][i]),
                            'real_test': float(f['real_test'][i])}
                        for i, c in enumerate(ctx.ds.classes)},
          'synthetic_confusion': f['synthetic_confusion'], 'folds': [f]}


def main(argv):
  del argv
  try:
    config = wd.read_json(os.path.join(FLAGS.workdir, 'config.json')) or {}
    if config.get('job') == 'gan':
      out = judge_gan_job(FLAGS.workdir, FLAGS.classic_size, FLAGS.steps, FLAGS.learning_rate)
      print(('judged samples.npz' if out['fold'] >= 0 else 'trained on all data, no real ROIs '
             'held out: nearest-training distances only') + f': {FLAGS.workdir}/quality.md')
      return
    results = judge(FLAGS.workdir)
  except errors.LiverjaxError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  pools = ', '.join(results['synthetic_quality']) or 'none (no classic run to take features from)'
  print(f'judged pools: {pools}; {FLAGS.workdir}/results.json and report.md updated')


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  app.run(main)
