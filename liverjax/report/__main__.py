"""Rebuilds the report of a finished experiment: python -m liverjax.report --workdir=W."""

from absl import flags

from liverjax import report
from liverjax.base import cli, workdir as wd

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment.')


def main(argv):
  del argv
  with wd.locked(FLAGS.workdir):
    path = report.write(FLAGS.workdir)
  print(f'report: {path} and {path[:-3]}.html')


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  cli.run(main)
