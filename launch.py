"""Runs a liverjax experiment: python launch.py --config=configs/<name>.py[:variant] --workdir=DIR.

Override any setting with --config.a.b=value (e.g. --config.data.source=npz
--config.data.path=rois.npz). On several hosts, set --multihost so that every process calls
jax.distributed.initialize() (coordinator from the environment, e.g. SLURM or JAX_COORDINATOR_*).
"""

import logging
import sys

from absl import app, flags
from ml_collections import config_flags

from liverjax import data, errors, experiment, gan_experiment, workdir as wd

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for config, checkpoints, metrics and results.')
flags.DEFINE_bool('multihost', False, 'Call jax.distributed.initialize() first.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  del argv
  if FLAGS.multihost:
    import jax
    jax.distributed.initialize()
  logging.getLogger().setLevel(logging.INFO)
  logging.getLogger('absl').setLevel(logging.WARNING)   # orbax logs every file op at INFO
  try:
    if FLAGS.config.get('job', 'classifier') == 'gan':
      summary = gan_experiment.run(FLAGS.config, FLAGS.workdir)
      print(f'{summary["kind"]}: {", ".join(summary["models"])} trained; samples in '
            f'{FLAGS.workdir}/samples/ and {FLAGS.workdir}/samples.npz')
      return
    results = experiment.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except (data.DataError, errors.ConfigError, wd.WorkdirError,
          gan_experiment.GANDivergedError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  for arm, r in results['arms'].items():
    acc = r['accuracy']
    print(f'{arm:>8}: accuracy {acc["mean"]:.3f} [{acc["ci95"][0]:.3f}, {acc["ci95"][1]:.3f}]  '
          f'specificity (macro) {r["specificity_macro"]["mean"]:.3f}')
  print(f'results: {FLAGS.workdir}/results.json')


if __name__ == '__main__':
  app.run(main)
