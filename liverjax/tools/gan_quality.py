"""Judges one set of synthetic images beside one fold's real ROIs: a GAN job's samples.npz, or a
user's own (python -m liverjax.tools.quality; see :mod:`liverjax.tools.quality`).

For a GAN job trained on fold k's training ROIs (``gan.fold=k``) it trains, in W/quality/, a
classic classifier on the same training ROIs (the job's data and model config) and gives, beside
each figure's real reference:
- the synthetic-quality figures of :mod:`liverjax.experiment.synthetic_quality` in that
  classifier's features against the fold's real test ROIs, and the closest pairs;
- GAN-test: the share of each class's samples the classifier assigns to that class, beside its
  sensitivity on the real test ROIs;
- TSTR: a classifier of the same model and budget trained on N samples per class only (N = the
  smaller of ``tstr_per_class`` and the samples' smallest class), tested on the fold's real test
  ROIs, beside TRTR: N x classes classic variants of the real training ROIs, with the same steps.
  One fold: the intervals are Wilson intervals over its test ROIs.

A job trained on all data (``gan.fold=-1``) has no held-out ROIs: only nearest-training
distances and closest pairs. :func:`liverjax.tools.quality.import_samples` makes a GAN job's
workdir of a user's own samples.npz.
"""

from __future__ import annotations

import hashlib
import os

import jax.numpy as jnp
import ml_collections
import numpy as np
import scipy.stats

from liverjax.base import errors, workdir as wd
from liverjax.datasets import sources
from liverjax.evaluation import classification, memorisation
from liverjax.experiment import classifier_job, context, summary, synthetic_quality
from liverjax.experiment.runner import Runner
from liverjax.report import markdown, quality as quality_report

QUICK_STEPS = 1200   # the :quick classifier budget (configs/variants.py: QUICK_CLASSIFIER)
MIN_TSTR = 8         # fewer samples per class: no TSTR


def feature_classifier_config(gan_config: dict, classic_size: int, steps: int,
                              learning_rate: float,
                              tstr_per_class: int = 0) -> ml_collections.ConfigDict:
  """Returns the classifier experiment that trains a GAN job's feature classifier: the job's
  data, folds and model, arm classic at classic_size, its first seed, the given budget. With
  tstr_per_class > 0, instead the experiment of TSTR and TRTR at that size: arms tstr_<kind> and
  trtr (the GAN arm <kind> only names the pool, which is the job's samples, never trained)."""
  c = ml_collections.ConfigDict(gan_config)
  kind = c.gan.kind
  if tstr_per_class:
    c[kind] = c.gan
  del c['gan']
  c.job = 'classifier'
  c.arms = (kind, f'tstr_{kind}', 'trtr') if tstr_per_class else ('classic',)
  c.classic.sizes = (classic_size,)
  c.synthetic.classic_size = classic_size
  if tstr_per_class:
    c.synthetic.per_class = (tstr_per_class,)
  c.seeds = (int(c.seeds[0]),)
  c.train.max_steps = steps
  c.train.learning_rate = learning_rate
  c.progress = False
  return c


def pool_label(gan: dict) -> str:
  """Returns a GAN job's name in its tables: its kind, and the data-efficient options it has on
  (configs/variants.py: DATA_EFFICIENT), e.g. 'dcgan + augment=translation,cutout + r1=1'; for
  imported samples, 'samples'."""
  if gan.get('imported'):
    return 'samples'
  on = [f'augment={gan["augment"]}' if gan.get('augment') else '',
        f'ada={gan["ada_target"]:g}' if gan.get('ada_target') else '',
        f'r1={gan["r1_gamma"]:g}' if gan.get('r1_gamma') else '',
        f'g_upsample={gan["g_upsample"]}' if gan.get('g_upsample', 'transposed') != 'transposed'
        else '',
        f'd_norm={gan["d_norm"]}' if gan.get('d_norm', 'batch') != 'batch' else '']
  return ' + '.join([gan['kind']] + [o for o in on if o])


def judge_gan_job(workdir: str, classic_size: int = 1000, steps: int = QUICK_STEPS,
                  learning_rate: float = 0.01, tstr_per_class: int = 1000) -> dict:
  """Returns (and writes to workdir/quality.json, quality.md) the quality of a GAN job's
  samples.npz against the real test ROIs of the fold it was trained on (tstr_per_class=0: no
  TSTR)."""
  config_dict = wd.read_json(os.path.join(workdir, 'config.json'))
  path = os.path.join(workdir, 'samples.npz')
  if config_dict is None or config_dict.get('job') != 'gan' or not os.path.exists(path):
    raise errors.WorkdirError(f'{workdir}: no finished GAN job (config.json, samples.npz)')
  fold = int(config_dict['gan']['fold'])
  if fold < 0:
    return judge_all_data_job(workdir, config_dict)
  with np.load(path) as z:
    images, labels, classes = z['images'], z['labels'], [str(c) for c in z['classes']]
  config = feature_classifier_config(config_dict, classic_size, steps, learning_rate)
  ctx = context.build(config, os.path.join(workdir, 'quality'))
  if classes != list(ctx.ds.classes):
    raise errors.WorkdirError(f'{path}: classes {classes}, the data set {list(ctx.ds.classes)}')
  wd.check_config(ctx.workdir, config.to_dict(), False)
  runner, run = Runner(ctx), context.Run('classic', classic_size, int(config.seeds[0]), fold)
  record = classifier_job.train_runs(runner, [run])[0]
  _, state = runner.load_classifier(run.name)
  per_class = synthetic_quality.pool_quality(runner, state, fold, images, labels)
  synthetic_quality.closest_pairs(ctx.ds, os.path.join(workdir, 'figures', 'closest.png'),
                                  per_class, images, labels, ctx.folds[fold][0])
  label = pool_label(config_dict['gan'])
  q = synthetic_quality.summarize_folds(
      {label: [{'fold': fold, 'classifier': run.name, 'per_class': per_class}]}, ctx.ds.classes)
  n_tstr = min(tstr_per_class, int(np.bincount(labels, minlength=len(classes)).min()))
  out = {'fold': fold, 'classifier': {'run': run.name, 'accuracy': record['accuracy'],
                                      'final_train': record.get('final_train')},
         'synthetic_quality': q,
         'gan_fidelity': {label: gan_test(ctx, state, images, labels, record, fold, run.name)},
         'tstr': (train_synthetic_test_real(workdir, config_dict, images, labels, n_tstr, steps,
                                            learning_rate, ctx.ds) if n_tstr >= MIN_TSTR
                  else None)}
  wd.write_json(os.path.join(workdir, 'quality.json'), out)
  lines = (quality_report.synthetic_quality({'synthetic_quality': q})
           + markdown.fidelity(config.to_dict(), out) + tstr_lines(out['tstr'], label))
  with open(os.path.join(workdir, 'quality.md'), 'w') as f:
    f.write('\n'.join(lines + [f'Fold {fold}; features and GAN-test of {run.name} (test '
                               f'accuracy {100 * record["accuracy"]:.1f}%), in quality/.', '']))
  return out


def train_synthetic_test_real(workdir: str, config_dict: dict, images, labels, n: int,
                              steps: int, learning_rate: float, ds=None) -> dict:
  """Trains TSTR on n samples per class and TRTR in workdir/quality/tstr/ (cleared first when
  it holds runs of other samples: its records depend on them) and returns :func:`tstr`. ds: the
  job's data set if already loaded (else loaded from its config)."""
  config = feature_classifier_config(config_dict, 0, steps, learning_rate, n)
  config.samples_sha256 = hashlib.sha256(np.ascontiguousarray(images).tobytes() +
                                         np.asarray(labels, np.int64).tobytes()).hexdigest()
  ctx = context.build(config, os.path.join(workdir, 'quality', 'tstr'), ds)
  wd.check_config(ctx.workdir, config.to_dict(), True)
  runner, kind, seed, fold = (Runner(ctx), config_dict['gan']['kind'], int(config.seeds[0]),
                              int(config_dict['gan']['fold']))
  runner.sets.use_pool(kind, fold, images, labels)
  records = classifier_job.train_runs(runner, [context.Run(f'tstr_{kind}', n, seed, fold),
                                               context.Run('trtr', n, seed, fold)])
  return tstr(*records, ctx.ds.classes)


def _wilson(cm) -> dict:
  cm = np.asarray(cm)
  k, n = int(np.trace(cm)), int(cm.sum())
  ci = scipy.stats.binomtest(k, n).proportion_ci(method='wilson')
  return {'mean': k / n, 'ci95': [float(ci.low), float(ci.high)], 'n_test': n}


def tstr(tstr_record: dict, trtr_record: dict, classes) -> dict:
  """Returns TSTR and TRTR of one fold from their runs' records: test accuracy with its Wilson
  interval over the test ROIs, per-class sensitivity, images and steps."""
  out = {}
  for name, r in (('tstr', tstr_record), ('trtr', trtr_record)):
    m = classification.metrics_from_confusion(np.asarray(r['confusion']))
    run = context.Run(r['arm'], r['size'], r['seed'], r['fold']).name
    out[name] = dict(_wilson(r['confusion']), run=run, n_train=r['n_train'],
                     steps=r['steps'], sensitivity=dict(zip(classes, map(float, m['sensitivity']))))
  out['difference'] = out['tstr']['mean'] - out['trtr']['mean']
  return out


def tstr_lines(t: dict | None, label: str) -> list[str]:
  """Returns the quality.md section of a GAN job's TSTR and TRTR."""
  if not t:
    return []
  cell = lambda m: (f'{100 * m["mean"]:.1f} [{100 * m["ci95"][0]:.1f}, '
                    f'{100 * m["ci95"][1]:.1f}]')
  rows = [[name, f'{r["n_train"]:,}', str(r['steps']), cell(r)] +
          [f'{100 * v:.0f}%' for v in r['sensitivity'].values()]
          for name, r in ((f'TSTR ({label})', t['tstr']), ('TRTR (classic)', t['trtr']))]
  return (['## Train on synthetic, test on real (TSTR)', '',
           quality_report.tstr_explanation('the samples', 'the samples') + ' Accuracy % [Wilson '
           f'95% interval over the fold\'s {t["tstr"]["n_test"]} test ROIs]; TSTR - TRTR '
           f'{100 * t["difference"]:+.1f} points.', ''] +
          markdown.table(['trained on', 'images', 'steps', 'accuracy'] +
                         [f'sensitivity {c}' for c in t['tstr']['sensitivity']], rows))


def judge_all_data_job(workdir: str, config_dict: dict) -> dict:
  """Returns (and writes to quality.json, quality.md, figures/closest.png) what can be judged of
  a GAN job trained on all data (gan.fold=-1), where no real ROIs were held out: each class's
  nearest-training pixel distances (over flips, turns and shifts up to 4 px) and its closest
  pairs, without the held-out reference that would say how near is too near."""
  ds = sources.load(ml_collections.ConfigDict(config_dict['data']))
  with np.load(os.path.join(workdir, 'samples.npz')) as z:
    images, labels = z['images'], z['labels']
  per_class = {}
  for c, cname in enumerate(ds.classes):
    d, idx = (np.asarray(a) for a in memorisation.nearest_distances(
        jnp.asarray(images[labels == c], jnp.float32),
        jnp.asarray(ds.images[ds.labels == c], jnp.float32)))
    if not len(d):
      continue
    q, near = np.percentile(d, [0, 5, 50]), np.argsort(d)[:4]
    per_class[cname] = {'n': int(len(d)), 'nearest_train_min': float(q[0]),
                        'nearest_train_p5': float(q[1]), 'nearest_train_median': float(q[2]),
                        'memorisation': {'closest': near.tolist(),
                                         'closest_train': idx[near].tolist()}}
  synthetic_quality.closest_pairs(ds, os.path.join(workdir, 'figures', 'closest.png'), per_class,
                                  images, labels, np.arange(len(ds)))
  out = {'fold': -1, 'held_out': None, 'nearest_train': per_class}
  wd.write_json(os.path.join(workdir, 'quality.json'), out)
  lines = ['## Synthetic image quality (GAN trained on all data)', '',
           'No real ROIs were held out (`gan.fold=-1`), so nothing here has a real reference: '
           'the features, FD, KID, precision/recall/density/coverage, C2ST, GAN-test and TSTR '
           'need one (train the GAN with `--config.gan.fold=k`, or run an experiment with its '
           'arm). What needs none: each synthetic image\'s RMS pixel distance to its nearest '
           'real ROI of its class (over flips, turns and shifts up to 4 px; 0 = a copy), and the '
           '4 nearest pairs per class in figures/closest.png (each image, then its ROI).', '']
  lines += markdown.table(['class', 'images', 'nearest distance: min', '5th percentile',
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
