"""The one command-line wrapper of every liverjax entry point (launch.py, the report, the tools).

A refusal of the software (:class:`~liverjax.base.errors.LiverjaxError`), a bad flag or an unknown
``--config.`` key ends the command with one line on stderr, ``error: <what to change>``, and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable, NoReturn

from absl import app, flags

from liverjax.base import errors


def refuse(message: str) -> NoReturn:
  """Prints `error: message` as one line on stderr and exits with code 2."""
  print(f'error: {one_line(message)}', file=sys.stderr)
  sys.exit(2)


def one_line(message: str) -> str:
  """Returns a message on one line: its first line (without a traceback) and its root cause."""
  lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
  if not lines:
    return 'unknown error'
  head = lines[0].split('Traceback')[0].rstrip(': ')
  return head if len(lines) == 1 else f'{head}: {lines[-1]}'


def exit_code(fn: Callable[..., object], *args, **kwargs) -> int:
  """Calls fn(*args, **kwargs); returns 0, or 2 after printing a LiverjaxError it raised as one
  line on stderr."""
  try:
    fn(*args, **kwargs)
  except errors.LiverjaxError as e:
    print(f'error: {one_line(str(e) or type(e).__name__)}', file=sys.stderr)
    return 2
  return 0


def parse_flags(argv: list[str]) -> list[str]:
  """Parses the command line; a bad flag or an unknown config key is refused in one line."""
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError) as e:   # ml_collections: --config.<key> that does not exist
    key = str(e).strip('"\'')
    refuse(f'unknown config key {key!r} on the command line (all keys: configs/common.py)')
  except (flags.Error, ValueError, TypeError) as e:
    refuse(str(e) or type(e).__name__)


# The libraries whose INFO lines (orbax's every file operation, jax's backend probing) drown the
# user's own messages; shown again with --verbosity.
LIBRARY_LOGGERS = ('absl', 'jax', 'orbax', 'etils', 'tensorstore', 'tensorflow', 'matplotlib',
                   'PIL', 'h5py')


def quiet_libraries() -> None:
  """Raises the libraries' loggers to WARNING unless --verbosity was given."""
  if 'verbosity' in flags.FLAGS and flags.FLAGS['verbosity'].present:
    return
  for name in LIBRARY_LOGGERS:
    logging.getLogger(name).setLevel(logging.WARNING)


def run(main: Callable[[list[str]], object]) -> None:
  """Runs main(argv) as absl's app.run does, with :func:`parse_flags` and
  :func:`quiet_libraries`; exits with :func:`exit_code`'s code."""
  def quiet_main(argv):
    quiet_libraries()
    return exit_code(main, argv)
  app.run(quiet_main, flags_parser=parse_flags)
