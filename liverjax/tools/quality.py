"""Judges the synthetic pools of a finished experiment beside real data, again or for the first
time: python -m liverjax.tools.quality --workdir=W.

Rebuilds each fold's pools from the workdir (GAN checkpoints are restored, not retrained; the
oracle's fresh ROIs are drawn again from their seeds), computes ``synthetic_quality`` and
``oracle_share`` (:mod:`liverjax.experiment.synthetic_quality`), writes them into results.json
and rebuilds the report. For a workdir run with ``--config.synthetic.quality=False``, or one
written before these checks existed. A GAN job trained on all data (``gan.fold=-1``) has no
held-out real ROIs to compare with: run an experiment instead.
"""

from __future__ import annotations

import glob
import os
import sys

import ml_collections
from absl import app, flags

from liverjax import report
from liverjax.base import errors, workdir as wd
from liverjax.experiment import context, summary, synthetic_quality
from liverjax.experiment.runner import Runner

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment.')


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


def main(argv):
  del argv
  try:
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
