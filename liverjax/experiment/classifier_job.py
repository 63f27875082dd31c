"""The cross-validated classifier experiment: arms x sizes x seeds x folds -> results.json.

``train_and_evaluate`` plans the runs (:func:`~liverjax.experiment.context.plan`; arms:
:mod:`~liverjax.experiment.arms`), trains those not finished yet
(:mod:`~liverjax.experiment.runner`), then summarizes them (:mod:`~liverjax.experiment.summary`).
A run read top to bottom passes through four modules: this one, ``runner`` (its loop: build the
training set, epochs, checkpoints, evaluation), ``context`` (the runs, the jitted programs and the
shared setting, built once) and ``training_sets`` (each arm's training set), down to the step in
:mod:`liverjax.steps.classifier`.
A re-run with the same workdir skips finished runs and resumes unfinished ones. A sized arm's
headline is the size with the best mean accuracy, selected on the test folds as the paper did
(optimistic; the whole sweep is reported). Generator arms get two checks of their synthetic pools:
diversity (collapse) and class fidelity.

Writes to the workdir, for the report (:mod:`liverjax.report`) and any later stage:

  config.json              the resolved config (a re-run must match it, unless config.overwrite)
  data.json                the data set: source, classes, counts, groups, each fold's test ROIs
                           and its training ROI count (after config.data.fraction)
  runs/<run>.json          one finished (arm, size, seed, fold) run: confusion matrix, metrics,
                           last epoch's training loss and accuracy
  checkpoints/<run>/       orbax checkpoints of that run's TrainState (latest kept)
  gan/<kind>_fold<k>/      each fold's GAN checkpoints and the diversity of its pool
  figures/                 data_<class>.png, <kind>_fold<k>/{<class>,real_<class>}.png
  features/tsne.npz        penultimate features of fold 0's test ROIs and synthetic images
  results.json             summary over arms, TSTR beside TRTR, GAN checks, the oracle's share,
                           synthetic_quality (written last of the results, atomically); a
                           reader study adds turing_test (liverjax.tools.turing)
  turing/                  a reader study, if one was made: study.sqlite, turing.json, turing.md
  timing.json              wall time per stage (not a result: it varies between machines)
  provenance.json          every launch's commit, libraries, backend and CPU (a resume on another
                           kind warns); results.json's provenance is the last launch's
  .lock                    held by the command writing the workdir (base/workdir.locked)
  tensorboard/             training scalars
"""

from __future__ import annotations

import itertools
import logging
import os

import numpy as np

from liverjax.base import grid, provenance, workdir as wd
from liverjax.datasets import phantom
from liverjax.experiment import (context, estimate, features, gan_trainer, progress, summary,
                                 synthetic_quality)
from liverjax.experiment.runner import Runner


def write_data(workdir: str, config, ds, folds: dict) -> None:
  """Writes data.json and a grid of each class's ROIs (what the classifier sees) of the data set
  ds and its splits {split: (train_idx, test_idx)} (Context.folds)."""
  for k, name in enumerate(ds.classes):
    grid.save_grid(os.path.join(workdir, 'figures', f'data_{name}.png'),
                   ds.images[ds.labels == k][:32], ncol=8, scale=2)
  n_groups = int(len(np.unique(ds.groups)))
  p = config.data.phantom
  version = phantom.settings(p)['version']
  calibration = ({'phantom': {'seed': int(p.seed), 'version': version,
                              'calibrated_on_seed': phantom.CALIBRATED_ON.get(version)}}
                 if config.data.source == 'phantom' else {})
  repeats = context.cv_repeats(config)
  wd.write_json(os.path.join(workdir, 'data.json'), calibration | {
      'source': ds.source, 'n_images': len(ds), 'classes': list(ds.classes),
      'class_counts': ds.class_counts(), 'n_groups': n_groups,
      'fraction': float(config.data.get('fraction', 1.0)),
      'train_sizes': [len(train) for train, _ in folds.values()],
      'test_indices': [test.tolist() for _, test in folds.values()]} | (
          {'cv_repeats': repeats} if repeats > 1 else {}))
  logging.info('data %s: %d images, classes %s, counts %s, %d groups', ds.source, len(ds),
               ds.classes, ds.class_counts(), n_groups)


def train_runs(runner: Runner, runs: list[context.Run],
               costs: dict[str, float] | None = None) -> list[dict]:
  """Returns the records of the runs, training those without one, the folds of each (arm, size,
  seed) together (Runner.run_group: stacked with config.train.vmap_folds), under one progress bar
  for the whole job: classifier steps and the steps of the GANs their pools need (trained or
  restored; not a pool already built or given, TrainingSets.use_pool), weighted by the measured
  seconds per step of each kind (estimate.step_costs), or each 1 without costs."""
  ctx = runner.ctx
  steps = {'classifier': int(sum(np.prod(ctx.schedule(run)) for run in runs))}
  steps |= estimate.plan(ctx, runs, runner.sets.built())['pools']
  job = progress.JobProgress(steps, costs, ctx.config.get('progress', True),
                             desc=f'{len(runs)} classifier runs' + ''.join(
                                 f', {gan_trainer.plural(kind)}' for kind in steps
                                 if kind != 'classifier'))
  runner.sets.progress = job   # the GANs a run's pool needs train under the job's bar
  bar = job.stage('classifier')
  done = {}
  for run in runs:
    record = wd.read_json(context.record_path(ctx.workdir, run.name))
    if record is not None:
      done[run] = record
      bar.update(int(np.prod(ctx.schedule(run))))
  for _, group in itertools.groupby(runs, key=lambda r: (r.arm, r.size, r.seed)):   # its folds
    todo = [run for run in group if run not in done]
    done.update(zip(todo, runner.run_group(todo, bar)))
  runner.sets.progress = None
  job.close()
  return [done[run] for run in runs]


def train_and_evaluate(config, workdir: str) -> dict:
  """Runs the experiment the config describes in workdir and returns the results.json content."""
  # Everything that can be refused (data, folds, mesh, config) is checked before the first write.
  ctx = context.build(config, workdir)
  runner = Runner(ctx)
  runs = context.plan(config)
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  launch = provenance.record_launch(workdir)
  write_data(workdir, config, ctx.ds, ctx.folds)
  costs = None
  if config.get('estimate', True):
    p = estimate.plan(ctx, runs)
    costs = estimate.step_costs(ctx, p)
    logging.info('%s', estimate.describe(p, costs))
  records = train_runs(runner, runs, costs)
  with ctx.stopwatch('summary'):
    results = summary.summarize(records, ctx.ds.classes, config, ctx.design)
    results['data'] = {'source': ctx.ds.source, 'n_images': len(ctx.ds),
                       'class_counts': ctx.ds.class_counts()}
    results['provenance'] = launch
    diversity = runner.sets.gan_diversity()
    if diversity:
      results['gan_diversity'] = diversity
      results['collapsed_generators'] = sorted(f'{pool}/{c}' for pool, d in diversity.items()
                                               for c, v in d.items() if v['collapsed'])
    fidelity = summary.gan_fidelity(runner, records)
    if fidelity:
      results['gan_fidelity'] = fidelity
    share = summary.oracle_share(records, config, ctx.design)
    if share:
      results['oracle_share'] = share
    if config.synthetic.get('quality', True):
      quality = synthetic_quality.synthetic_quality(runner)
      if quality:
        results['synthetic_quality'] = quality
    features.write_tsne_features(runner, results)   # every process: a sharded computation
    wd.write_json(os.path.join(workdir, 'results.json'), results)
  ctx.writer.close()
  # Timing lives apart from results.json, which is a deterministic function of config and seeds.
  wd.write_json(os.path.join(workdir, 'timing.json'), ctx.stopwatch.log())
  return results
