"""Orbax checkpoints of pytree states: one CheckpointManager per run or GAN."""

from __future__ import annotations

import os
import re

import jax
import orbax.checkpoint as ocp

from liverjax.base import errors


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
  mid-write leaves the previous one. Why: a blocking save of a paper-width GAN takes about as
  long as the epochs between saves on a GPU (docs/decisions/convolution_lowering.md).
  """
  mngr.save(step, args=ocp.args.StandardSave(state))
  if wait:
    mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, template):
  """Returns (step, state) of the latest checkpoint restored like template, or (None, template).
  A checkpoint of another model (other shapes or parameters) is a WorkdirError."""
  step = mngr.latest_step()
  if step is None:
    return None, template
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
  try:
    return step, mngr.restore(step, args=ocp.args.StandardRestore(abstract))
  except ValueError as e:
    first = str(e).strip().splitlines()[0][:200]
    raise errors.WorkdirError(
        f'{mngr.directory}: its checkpoint (step {step}) does not fit the model this config '
        f'builds ({first}); it was written with another config or liverjax version: use a new '
        '--workdir, or the config it was written with') from e
