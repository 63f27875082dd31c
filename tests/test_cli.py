"""The one command-line wrapper (liverjax/base/cli.py): every entry point uses it, and it turns a
liverjax error into one line on stderr and exit code 2 while a bug keeps its traceback."""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from liverjax.base import cli, errors

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _entry_points() -> list[pathlib.Path]:
  """Returns every file with an `if __name__ == '__main__':` block: launch.py and the commands."""
  files = [ROOT / 'launch.py'] + sorted((ROOT / 'liverjax').rglob('*.py'))
  return [f for f in files if "if __name__ == '__main__':" in f.read_text()]


def test_entry_points_are_found():
  names = {str(f.relative_to(ROOT)) for f in _entry_points()}
  assert {'launch.py', 'liverjax/report/__main__.py', 'liverjax/tools/quality.py',
          'liverjax/tools/turing/__main__.py'} <= names, names


@pytest.mark.parametrize('path', _entry_points(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_entry_point_runs_through_the_wrapper(path):
  """Its main block calls cli.run(main); no code of it calls absl's app.run or sys.exit itself."""
  tree = ast.parse(path.read_text())
  calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
  assert 'cli.run' in calls, path
  assert not {'app.run', 'sys.exit'} & set(calls), (path, set(calls) & {'app.run', 'sys.exit'})


@pytest.mark.parametrize('error', [errors.DataError, errors.ConfigError, errors.WorkdirError,
                                   errors.GANDivergedError, errors.LiverjaxError])
def test_a_liverjax_error_is_one_line_and_exit_2(capsys, error):
  def fails():
    raise error('rois.npz: labels outside 0..2')
  assert cli.exit_code(fails) == 2
  assert capsys.readouterr().err == 'error: rois.npz: labels outside 0..2\n'


def test_a_message_of_several_lines_is_cut_to_one(capsys):
  def fails():
    raise errors.DataError('x.dcm: unreadable\nTraceback (most recent call last):\n  ...\n'
                           'OSError: truncated file')
  assert cli.exit_code(fails) == 2
  assert capsys.readouterr().err == 'error: x.dcm: unreadable: OSError: truncated file\n'


def test_success_is_exit_0_and_a_bug_keeps_its_traceback(capsys):
  assert cli.exit_code(lambda: None) == 0
  with pytest.raises(ZeroDivisionError):
    cli.exit_code(lambda: 1 / 0)
  assert capsys.readouterr().err == ''


@pytest.mark.parametrize('args, message', [
    (['-m', 'liverjax.report', '--workdir=missing'], 'missing: no config.json'),
    (['-m', 'liverjax.tools.turing', 'bogus', '--workdir=missing'], 'usage: python -m'),
    (['-m', 'liverjax.tools.quality', '--workdir=missing', '--samples=s.npz'],
     '--samples needs --config'),
    (['-m', 'liverjax.report', '--no_such_flag'], 'no_such_flag'),
])
def test_commands_refuse_in_one_line(tmp_path, args, message):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  proc = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                        env=dict(env, PYTHONPATH=str(ROOT)), timeout=120)
  err = [ln for ln in proc.stderr.splitlines() if ln.startswith('error: ')]
  assert proc.returncode == 2 and len(err) == 1 and message in err[0], proc.stderr
  assert 'Traceback' not in proc.stderr, proc.stderr


QUIET = """
import logging
import jax
from liverjax.base import cli
def main(argv):
  jax.devices()                                   # jax probes its backends (a TPU line at INFO)
  logging.getLogger('orbax').info('orbax file operation')
  logging.warning('the user needs this')
cli.run(main)
"""


def test_commands_print_no_library_info_lines_unless_asked(tmp_path):
  import subprocess
  import sys
  script = tmp_path / 'quiet.py'
  script.write_text(QUIET)
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ, PYTHONPATH=root)
  quiet = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
  assert quiet.returncode == 0 and 'the user needs this' in quiet.stderr
  assert 'orbax file operation' not in quiet.stderr, quiet.stderr
  loud = subprocess.run([sys.executable, str(script), '--verbosity=0'], capture_output=True,
                        text=True, env=env)
  assert 'orbax file operation' in loud.stderr, loud.stderr
