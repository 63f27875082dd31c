"""The run directory: atomic files, the config guard, TensorBoard scalars.

The workdir is the only contract between stages: a job writes ``config.json`` first and its
results as files (each job's module docstring lists them); a later stage (the report, a sample
command) reads those files, never a live object. Everything a reader may see half-done is written
to a temp file and renamed into place. Checkpoints: :mod:`liverjax.base.checkpoints`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import time
from typing import Any

import jax
import numpy as np

from liverjax.base.errors import WorkdirError

# Config keys that may change between a run and its resumption without invalidating it.
VOLATILE_KEYS = ('overwrite', 'progress', 'estimate')


def _default(o):
  if isinstance(o, (np.integer,)):
    return int(o)
  if isinstance(o, (np.floating,)):
    return float(o)
  if isinstance(o, np.ndarray):
    return o.tolist()
  raise TypeError(f'not JSON serialisable: {type(o)}')


def is_writer() -> bool:
  """True in the process that writes files: process 0 (every process in a one-process run).
  Across hosts, all processes compute the same values; one writes them (orbax coordinates its
  checkpoints across processes by itself)."""
  return jax.process_index() == 0


def write_text(path: str, text: str) -> str:
  """Writes text atomically (temp file + fsync + rename) from process 0; returns the path."""
  if not is_writer():
    return path
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
  return path


def write_json(path: str, obj: Any) -> str:
  """Writes obj as indented JSON atomically; returns the path."""
  return write_text(path, json.dumps(obj, indent=2, default=_default, allow_nan=True) + '\n')


def write_npz(path: str, **arrays) -> str:
  """Writes arrays as a compressed .npz atomically from process 0; returns the path."""
  if not is_writer():
    return path
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}.npz'
  np.savez_compressed(tmp, **arrays)
  os.replace(tmp, path)
  return path


def read_json(path: str) -> Any:
  """Returns the parsed JSON file, or None if it does not exist."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def check_config(workdir: str, config_dict: dict, overwrite: bool) -> None:
  """Writes config.json, or checks that an existing one describes the same run.

  Raises WorkdirError if the workdir holds another config's run and overwrite is False; with
  overwrite everything the old run wrote (every entry of the workdir) is removed first, so nothing
  stale is mixed in.
  """
  path = os.path.join(workdir, 'config.json')
  old = read_json(path)
  config_dict = json.loads(json.dumps(config_dict, default=_default))   # tuples -> lists
  strip = lambda d: {k: v for k, v in d.items() if k not in VOLATILE_KEYS}
  if old is not None and strip(old) != strip(config_dict):
    if not overwrite:
      diff = sorted(k for k in set(old) | set(config_dict)
                    if k not in VOLATILE_KEYS and old.get(k) != config_dict.get(k))
      new = [k for k in diff if k not in old]
      why = (f'; its config.json has no {", ".join(new)}: written by an older liverjax, whose '
             'results this one may not reproduce' if new else '')
      raise WorkdirError(f'{workdir}: holds a run of another config (differs in {", ".join(diff)}'
                         f'{why}); use another --workdir or pass --config.overwrite=True')
    if not is_writer():
      return
    for name in set(os.listdir(workdir)) - {LOCK_FILE}:   # the lock stays: it is held
      p = os.path.join(workdir, name)
      if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
      else:
        os.remove(p)
  write_json(path, config_dict)


class ScalarWriter:
  """TensorBoard scalars and images (tensorboardX, no TensorFlow); a no-op outside process 0.
  The event file is created at the first value written: constructing one writes nothing."""

  def __init__(self, logdir: str):
    self.logdir = logdir
    self._writer = None

  def _get(self):
    if self._writer is None and is_writer():
      from tensorboardX import SummaryWriter
      self._writer = SummaryWriter(self.logdir)
    return self._writer

  def scalars(self, step: int, values: dict, prefix: str = '') -> None:
    w = self._get()
    if w is not None:
      for k, v in values.items():
        w.add_scalar(f'{prefix}{k}', float(v), step)

  def image(self, step: int, image: np.ndarray, tag: str) -> None:
    """Logs a uint8 grayscale (H, W) image."""
    w = self._get()
    if w is not None:
      w.add_image(tag, np.asarray(image)[None], step, dataformats='CHW')

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
      self._writer = None


LOCK_FILE = '.lock'


@contextlib.contextmanager
def locked(workdir: str):
  """Holds the workdir's writer lock while a command writes it: process 0 of a job takes it (the
  job's other processes write nothing, so they pass). A second live writer is refused with a
  WorkdirError naming the holder (host, pid, start time) before it writes anything (the lock
  file goes when released, and a workdir the command created and left empty too); a holder
  that was killed leaves no lock behind (the kernel drops its flock). Readers never take it.
  The lock is an flock on WORKDIR/.lock: it holds between processes of one machine's file
  system, not across hosts on a network file system."""
  if not is_writer():
    yield
    return
  created = not os.path.exists(workdir)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_FILE)
  existed = os.path.exists(path)
  f = open(path, 'a+')
  try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    f.seek(0)
    holder = f.read().strip() or 'another process'
    f.close()
    raise WorkdirError(f'{workdir} is being written by {holder}; wait for it to finish or use '
                       'another --workdir') from None
  f.seek(0)
  f.truncate()
  f.write(f'{socket.gethostname()} pid {os.getpid()} since '
          f'{time.strftime("%Y-%m-%d %H:%M:%S %Z")}\n')
  f.flush()
  try:
    yield
  finally:
    if not existed:                 # the lock file lives while it is held (or its holder killed)
      os.remove(path)
    if created and not os.listdir(workdir):   # refused before writing: leave nothing
      os.rmdir(workdir)
    fcntl.flock(f, fcntl.LOCK_UN)
    f.close()
