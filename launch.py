"""Runs a liverjax experiment: python launch.py --config=configs/<name>.py[:variant] --workdir=DIR.

Override any setting with --config.a.b=value (e.g. --config.data.source=npz
--config.data.path=rois.npz). On several hosts, set --multihost so that every process calls
jax.distributed.initialize() (coordinator from the environment, e.g. SLURM or JAX_COORDINATOR_*).
"""

import logging

from absl import flags
from ml_collections import config_flags

from liverjax import report
from liverjax.base import cli, errors, workdir as wd
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
  return cli.exit_code(run_job, config, workdir)


def run_job(config, workdir: str) -> None:
  """Runs the job config describes (an experiment, a GAN job or a learning curve), writes its
  report and prints its outcome, holding the workdir's lock; raises a LiverjaxError if it is
  refused (another live writer of the workdir included)."""
  with wd.locked(workdir):
    _run_job(config, workdir)


def _run_job(config, workdir: str) -> None:
  job = config.get('job', 'classifier')
  if job == 'gan':
    summary = gan_job.run(config, workdir)
    print(f'{summary["kind"]}: {", ".join(summary["models"])} trained; samples in '
          f'{workdir}/samples/ and {workdir}/samples.npz')
    return
  if job == 'learning_curve':
    curve = curve_job.run(config, workdir)
    for point in curve['points']:
      report.write(curve_job.fraction_dir(workdir, point['fraction']))
    path = curve_report.write(workdir)
    for point in curve['points']:
      print(f'{100 * point["fraction"]:5.0f}%: ' + '  '.join(
          f'{arm} {r["accuracy"]["mean"]:.3f}' for arm, r in point['arms'].items()))
    print(f'learning curve: {path}')
    return
  results = classifier_job.train_and_evaluate(config, workdir)
  report.write(workdir)
  for arm, r in results['arms'].items():
    acc = r['accuracy']
    print(f'{arm:>8}: accuracy {acc["mean"]:.3f} [{acc["ci95"][0]:.3f}, {acc["ci95"][1]:.3f}]  '
          f'specificity (macro) {r["specificity_macro"]["mean"]:.3f}')
  print(f'results: {workdir}/results.json, report: {workdir}/report.html')


def main(argv):
  del argv
  logging.getLogger().setLevel(logging.INFO)   # liverjax's own lines; libraries': cli.run
  if FLAGS.multihost:
    import jax
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')   # CPU processes talk via gloo
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    logging.info('multi-host: process %d of %d, %d of %d devices', jax.process_index(),
                 jax.process_count(), jax.local_device_count(), jax.device_count())
  config = FLAGS.config
  try:
    config.keys()           # a config file that failed to load fails on first use
  except OSError as e:
    raise errors.ConfigError(f'--config: {cli.one_line(str(e))}') from e
  run_job(config, FLAGS.workdir)


if __name__ == '__main__':
  cli.run(main)
