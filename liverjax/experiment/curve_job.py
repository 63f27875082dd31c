"""A learning curve: the same experiment at several shares of each training fold's patients.

``config.curve.fractions`` lists the shares; each runs as its own classifier experiment
(:mod:`~liverjax.experiment.classifier_job`) in ``<workdir>/fraction_<f>/``, with
``config.data.fraction = f`` (:func:`liverjax.datasets.splits.keep_fraction`: whole patients,
per class, nested, test folds unchanged). Its GANs train on the kept ROIs only. With
``config.curve.scale_added`` the images added per class (``synthetic.per_class``) and the
oracle's fresh ROIs (``oracle.rois_per_class``) scale with f too, so the added images keep their
ratio to the real ones; classic set sizes do not (the paper's classic set saturates with its
size, not with its source ROIs).

Writes ``learning_curve.json`` (each arm's accuracy at each fraction, its paired difference from
classic, the training ROIs per fold) beside the fractions' workdirs; the report
(:mod:`liverjax.report.curve`) reads it. A re-run resumes each fraction where it stopped.
"""

from __future__ import annotations

import os

from liverjax.base import errors, workdir as wd
from liverjax.experiment import classifier_job


def fraction_dir(workdir: str, fraction: float) -> str:
  return os.path.join(workdir, f'fraction_{fraction:g}')


def fraction_config(config, fraction: float):
  """Returns a copy of config as the classifier experiment at one fraction."""
  sub = config.copy_and_resolve_references()
  with sub.unlocked():
    sub.job = 'classifier'
    sub.data.fraction = float(fraction)
    if config.curve.scale_added:
      sub.synthetic.per_class = tuple(max(1, round(fraction * n))
                                      for n in config.synthetic.per_class)
      sub.oracle.rois_per_class = max(1, round(fraction * config.oracle.rois_per_class))
  return sub


def run(config, workdir: str) -> dict:
  """Runs every fraction's experiment (resuming) and returns the learning_curve.json content."""
  fractions = sorted(float(f) for f in config.curve.fractions)
  if not fractions or not all(0.0 < f <= 1.0 for f in fractions):
    raise errors.ConfigError(f'config.curve.fractions={tuple(config.curve.fractions)}: give '
                             'shares in (0, 1]')
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  points = []
  for f in fractions:
    sub_dir = fraction_dir(workdir, f)
    results = classifier_job.train_and_evaluate(fraction_config(config, f), sub_dir)
    data = wd.read_json(os.path.join(sub_dir, 'data.json'))
    points.append({'fraction': f, 'workdir': os.path.basename(sub_dir),
                   'train_rois_per_fold': data['train_sizes'],
                   'arms': {arm: {'size': r.get('size', 0), 'accuracy': {
                       k: r['accuracy'][k] for k in ('mean', 'ci95', 'per_fold')}}
                            for arm, r in results['arms'].items()},
                   'vs_classic': {k.split('_vs_')[0]: v
                                  for k, v in results['paired_accuracy'].items()
                                  if k.endswith('_vs_classic')}})
  curve = {'fractions': fractions, 'arms': list(config.arms),
           'scale_added': bool(config.curve.scale_added), 'points': points}
  wd.write_json(os.path.join(workdir, 'learning_curve.json'), curve)
  return curve
