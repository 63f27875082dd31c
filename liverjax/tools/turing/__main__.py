"""The visual Turing test: python -m liverjax.tools.turing COMMAND --workdir=W [flags].

  create   draws real and synthetic ROIs from W (balanced per class, seeded) into a new study,
           W/turing/study.sqlite, and prints one secret link per reader
  serve    serves the reader page (waitress; localhost unless --host says otherwise) and prints
           the links; answers are written as they come, so the server can stop at any time
  links    prints the readers' links again
  report   the statistics into W/turing/turing.json, turing.md and results.json's turing_test
           (readers, AUC, accuracy), and rebuilds an experiment's report
"""

from __future__ import annotations

import os
import socket

from absl import flags

from liverjax.base import cli, errors
from liverjax.tools.turing import results, store

FLAGS = flags.FLAGS
COMMANDS = ('create', 'serve', 'links', 'report')


def define_flags() -> None:
  """Defines the command's flags (only when run as a command)."""
  flags.DEFINE_string('workdir', None, 'A finished experiment with a GAN arm, or a GAN job.')
  flags.DEFINE_integer('n_real', 10, 'create: real ROIs per class.')
  flags.DEFINE_integer('n_synthetic', 10, 'create: synthetic images per class.')
  flags.DEFINE_list('classes', [], 'create: the classes to show (default: all).')
  flags.DEFINE_integer('readers', 2, 'create: how many readers (named reader1, reader2, ...).')
  flags.DEFINE_string('arm', None, 'create: the experiment\'s GAN arm (default: its first).')
  flags.DEFINE_integer('seed', 0, 'create: seed of the draw and of each reader\'s order.')
  flags.DEFINE_bool('allow_changes', False, 'create: let readers go back and change answers '
                    '(the paper\'s readers could not).')
  flags.DEFINE_string('host', '127.0.0.1', 'serve: address to bind (0.0.0.0: every interface, '
                      'for readers on other machines).')
  flags.DEFINE_integer('port', 8765, 'serve: port.')


def _base_url() -> str:
  host = {'127.0.0.1': 'localhost', '0.0.0.0': socket.getfqdn()}.get(FLAGS.host, FLAGS.host)
  return f'http://{host}:{FLAGS.port}'


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise errors.ConfigError(f'usage: python -m liverjax.tools.turing {{{",".join(COMMANDS)}}} '
                             '--workdir=W')
  command, workdir = argv[1], FLAGS.workdir
  db_path = store.path(workdir)
  if command == 'create':
    from liverjax.base import workdir as wd
    from liverjax.tools.turing import study   # restores GANs: imports JAX
    with wd.locked(workdir):
      study.create(workdir, FLAGS.n_real, FLAGS.n_synthetic, FLAGS.classes or None,
                   FLAGS.readers, FLAGS.arm, FLAGS.seed, FLAGS.allow_changes)
    print(f'study: {db_path}')
  elif not os.path.exists(db_path):
    raise errors.WorkdirError(f'{db_path}: no study; run `create` first')
  if command == 'report':
    from liverjax.base import workdir as wd
    with wd.locked(workdir):   # serving readers write only their answers (SQLite locks those)
      stats = results.report(workdir)
    print(f'{len(stats["readers"])} reader(s), {stats["pooled"].get("n", 0)} answers -> '
          f'{workdir}/turing/turing.md, turing.json')
    return
  print('\n'.join(results.links(db_path, _base_url())), flush=True)
  if command == 'serve':
    import waitress
    from liverjax.tools.turing import app as page
    waitress.serve(page.make_app(db_path), host=FLAGS.host, port=FLAGS.port, threads=8)


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  cli.run(main)
