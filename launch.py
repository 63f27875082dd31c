"""Runs a liverjax experiment: python launch.py --config=configs/<name>.py[:variant] --workdir=DIR.

Override any setting with --config.a.b=value (e.g. --config.data.source=npz
--config.data.path=rois.npz). On several hosts, set --multihost so that every process calls
jax.distributed.initialize() (coordinator from the environment, e.g. SLURM or JAX_COORDINATOR_*).
"""

import logging
import sys

from absl import app, flags
from ml_collections import config_flags

from liverjax import report
from liverjax.base import errors
from liverjax.experiment import classifier_job, curve_job, gan_job
from liverjax.report import curve as curve_report

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for config, checkpoints, metrics and results.')
flags.DEFINE_bool('multihost', False, 'Call jax.distributed.initialize() first.')
flags.DEFINE_string('coordinator_address', None, 'Multi-host: host:port of process 0 (default: '
                    'from the cluster environment, e.g. SLURM, or JAX_COORDINATOR_ADDRESS).')
flags.DEFINE_integer('num_processes', None, 'Multi-host: number of processes.')
flags.DEFINE_integer('process_id', None, 'Multi-host: this process\'s index.')
flags.mark_flags_as_required(['config', 'workdir'])


def run(config, workdir: str) -> int:
  """Runs the job config describes; returns the exit code (2: refused, one line on stderr)."""
  try:
    if config.get('job', 'classifier') == 'gan':
      summary = gan_job.run(config, workdir)
      print(f'{summary["kind"]}: {", ".join(summary["models"])} trained; samples in '
            f'{workdir}/samples/ and {workdir}/samples.npz')
      return 0
    if config.get('job', 'classifier') == 'learning_curve':
      curve = curve_job.run(config, workdir)
      for point in curve['points']:
        report.write(curve_job.fraction_dir(workdir, point['fraction']))
      path = curve_report.write(workdir)
      for point in curve['points']:
        print(f'{100 * point["fraction"]:5.0f}%: ' + '  '.join(
            f'{arm} {r["accuracy"]["mean"]:.3f}' for arm, r in point['arms'].items()))
      print(f'learning curve: {path}')
      return 0
    results = classifier_job.train_and_evaluate(config, workdir)
    report.write(workdir)
  except errors.LiverjaxError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  for arm, r in results['arms'].items():
    acc = r['accuracy']
    print(f'{arm:>8}: accuracy {acc["mean"]:.3f} [{acc["ci95"][0]:.3f}, {acc["ci95"][1]:.3f}]  '
          f'specificity (macro) {r["specificity_macro"]["mean"]:.3f}')
  print(f'results: {workdir}/results.json, report: {workdir}/report.html')
  return 0


def main(argv):
  del argv
  if FLAGS.multihost:
    import jax
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')   # CPU processes talk via gloo
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  logging.getLogger().setLevel(logging.INFO)
  logging.getLogger('absl').setLevel(logging.WARNING)   # orbax logs every file op at INFO
  config = FLAGS.config
  try:
    config.keys()           # a config file that failed to load fails on first use
  except OSError as e:
    print(f'error: --config: {_last_line(e)}', file=sys.stderr)
    sys.exit(2)
  sys.exit(run(config, FLAGS.workdir))


def _last_line(e: Exception) -> str:
  """Returns an error message on one line (the flag and the root cause, not a traceback)."""
  lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
  if not lines:
    return type(e).__name__
  head = lines[0].split('Traceback')[0].rstrip(': ')
  return head if len(lines) == 1 else f'{head}: {lines[-1]}'


def parse_flags(argv):
  """Parses the command line; a bad flag or an unknown config key is one line and exit code 2."""
  try:
    return FLAGS(argv)
  except (AttributeError, KeyError) as e:   # ml_collections: --config.<key> that does not exist
    key = str(e).strip('"\'')
    print(f'error: unknown config key {key!r} on the command line (all keys: configs/common.py)',
          file=sys.stderr)
  except (flags.Error, ValueError, TypeError) as e:
    print(f'error: {_last_line(e)}', file=sys.stderr)
  sys.exit(2)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
