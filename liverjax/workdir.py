"""The run directory: atomic files, the config guard, orbax checkpoints, TensorBoard scalars.

Layout of a workdir::

  config.json            resolved config (a re-run must match it, unless config.overwrite)
  results.json           summary over arms (written last, atomically)
  runs/<run>.json        one finished (arm, size, seed, fold) run: confusion matrix and metrics
  checkpoints/<run>/     orbax CheckpointManager of that run's TrainState (latest kept)
  tensorboard/           scalars that TensorBoard reads (tensorboardX event files)
  figures/               PNGs

Everything a reader may see half-done is written to a temp file and renamed into place.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

# Config keys that may change between a run and its resumption without invalidating it.
VOLATILE_KEYS = ('overwrite', 'progress')


class WorkdirError(RuntimeError):
  """The workdir holds something incompatible with this run."""


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


def read_json(path: str) -> Any:
  """Returns the parsed JSON file, or None if it does not exist."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def check_config(workdir: str, config_dict: dict, overwrite: bool) -> None:
  """Writes config.json, or checks that an existing one describes the same run.

  Raises WorkdirError if the workdir holds another config's run and overwrite is False; with
  overwrite the old results and runs are removed so nothing stale is mixed in.
  """
  path = os.path.join(workdir, 'config.json')
  old = read_json(path)
  config_dict = json.loads(json.dumps(config_dict, default=_default))   # tuples -> lists
  strip = lambda d: {k: v for k, v in d.items() if k not in VOLATILE_KEYS}
  if old is not None and strip(old) != strip(config_dict):
    if not overwrite:
      diff = sorted(k for k in set(old) | set(config_dict)
                    if k not in VOLATILE_KEYS and old.get(k) != config_dict.get(k))
      raise WorkdirError(f'{workdir}: holds a run of another config (differs in {", ".join(diff)});'
                         ' use another --workdir or pass --config.overwrite=True')
    import shutil
    if not is_writer():
      return
    for name in ('runs', 'checkpoints', 'tensorboard', 'figures', 'gan', 'samples', 'results.json',
                 'samples.npz', 'gan_summary.json', 'report.md', 'report.html', 'timing.json'):
      p = os.path.join(workdir, name)
      if os.path.isdir(p):
        shutil.rmtree(p)
      elif os.path.exists(p):
        os.remove(p)
  write_json(path, config_dict)


def checkpoint_manager(directory: str, max_to_keep: int = 1) -> ocp.CheckpointManager:
  """Returns an orbax CheckpointManager keeping the latest max_to_keep steps of one run.

  Its processes' barriers are named after the directory's last two path components (the same on
  every host): with several processes, orbax names an asynchronous save's barrier after the step
  only, so managers saving the same step at once (``config.train.vmap_folds``: one per fold)
  collided ("Barrier _async_write_complete.2 is already ongoing") and the run hung.
  """
  directory = os.path.abspath(directory)
  prefix = re.sub(r'[^A-Za-z0-9_.-]', '_', '/'.join(directory.split(os.sep)[-2:]))
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=True,
      multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=prefix))
  return ocp.CheckpointManager(directory, options=options)


def save_state(mngr: ocp.CheckpointManager, step: int, state, wait: bool = True) -> None:
  """Saves a pytree state at step; with wait, returns once it is on disk.

  wait=False (the training loops' periodic saves) returns once orbax has copied the arrays off
  the devices, so the caller may go on and even donate the state's buffers, and writes them in a
  background thread while training goes on. The manager's next save and its close() wait for
  it, and a checkpoint counts (latest_step) only once orbax has committed it in full, so a crash
  mid-write leaves the previous one. Why: a blocking save of a paper-width GAN (265 MiB with its
  Adam state) took ~0.4 s on a 2-core CPU, about as long as the 5 epochs between saves take on an
  H100 (80 steps at 5.7 ms; README, On a GPU).
  """
  mngr.save(step, args=ocp.args.StandardSave(state))
  if wait:
    mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, template):
  """Returns (step, state) of the latest checkpoint restored like template, or (None, template)."""
  step = mngr.latest_step()
  if step is None:
    return None, template
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
  return step, mngr.restore(step, args=ocp.args.StandardRestore(abstract))


class ScalarWriter:
  """TensorBoard scalars and images (tensorboardX, no TensorFlow); a no-op outside process 0."""

  def __init__(self, logdir: str):
    self._writer = None
    if jax.process_index() == 0:
      from tensorboardX import SummaryWriter
      self._writer = SummaryWriter(logdir)

  def scalars(self, step: int, values: dict, prefix: str = '') -> None:
    if self._writer is not None:
      for k, v in values.items():
        self._writer.add_scalar(f'{prefix}{k}', float(v), step)

  def image(self, step: int, image: np.ndarray, tag: str) -> None:
    """Logs a uint8 grayscale (H, W) image."""
    if self._writer is not None:
      self._writer.add_image(tag, np.asarray(image)[None], step, dataformats='CHW')

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
