"""Rebuilds the report of a finished experiment: python -m liverjax.report --workdir=W."""

import sys

from absl import app, flags

from liverjax import report
from liverjax.base import errors

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment.')


def main(argv):
  del argv
  try:
    path = report.write(FLAGS.workdir)
  except errors.LiverjaxError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  print(f'report: {path} and {path[:-3]}.html')


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
