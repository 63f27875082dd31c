"""Training and evaluating classifier runs, by one code path (:meth:`Runner.run_group`) for a run
alone and for the folds of one (arm, size, seed) stacked under one vmapped epoch program
(``config.train.vmap_folds``; the same records).

Each run trains the classifier from scratch on its training set
(:mod:`liverjax.experiment.training_sets`), evaluates it on the fold's real test ROIs and writes
``runs/<run>.json``. A run resumes from its latest checkpoint (saved every
``config.train.checkpoint_every`` epochs); keys derive from (seed, fold, size), so the results
equal those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.base import checkpoints
from liverjax.base import mesh as mesh_lib
from liverjax.base import workdir as wd
from liverjax.evaluation import classification
from liverjax.experiment import context, training_sets
from liverjax.steps import classifier


@dataclasses.dataclass(frozen=True)
class RunState:
  """What one run trains with, from its first (or resumed) epoch to its last."""
  run: context.Run
  train_set: dict | None      # None once stacked with other folds' (not held twice)
  n_train: np.int32
  state: Any
  mngr: Any                   # its open orbax CheckpointManager
  start_epoch: int
  epochs: int
  steps: int                  # per epoch
  k_train: jax.Array


class Runner:
  """Trains and evaluates runs of one experiment (its Context), building their training sets."""

  def __init__(self, ctx: context.Context):
    self.ctx = ctx
    self.sets = training_sets.TrainingSets(ctx)

  def load_classifier(self, name: str):
    """Returns (epoch, state) of run `name`'s latest checkpoint, or (None, None) if it has none."""
    ctx = self.ctx
    template = jax.device_put(
        classifier.init_state(ctx.model, ctx.tx, jax.random.key(0),
                              jnp.zeros(ctx.ds.images.shape[1:], jnp.float32)),
        mesh_lib.replicated(ctx.mesh))
    mngr = checkpoints.checkpoint_manager(context.checkpoint_dir(ctx.workdir, name))
    epoch, state = checkpoints.restore_latest(mngr, template)
    mngr.close()
    return (None, None) if epoch is None else (epoch, state)

  def start(self, run: context.Run) -> RunState:
    """Returns a run's training set, initial (or restored) state and open checkpoint manager."""
    ctx = self.ctx
    k_init, k_aug, k_train = jax.random.split(run.key, 3)
    train_set, n_train = self.sets.build(run, k_aug)
    mean_image = ctx.programs.mean_image(train_set['image'], n_train)
    state = classifier.init_state(ctx.model, ctx.tx, k_init, mean_image)
    state = jax.device_put(state, mesh_lib.replicated(ctx.mesh))
    mngr = checkpoints.checkpoint_manager(context.checkpoint_dir(ctx.workdir, run.name))
    start_epoch, state = checkpoints.restore_latest(mngr, state)
    epochs, steps = ctx.schedule(run)
    return RunState(run=run, train_set=train_set, n_train=n_train, state=state, mngr=mngr,
                    start_epoch=start_epoch or 0, epochs=epochs, steps=steps, k_train=k_train)

  def finish(self, r: RunState, state, last_epoch: dict | None) -> dict:
    """Evaluates a trained run on its fold's test ROIs, writes and returns its record.

    last_epoch: the mean training loss and accuracy of the run's last epoch (dropout on, on its
    augmented training set), recorded as 'final_train' so that the summary can tell runs that
    stopped before fitting their training set; None when no epoch ran here (a run resumed from
    its last checkpoint): then those kept beside that checkpoint (context.last_epoch_path).
    """
    ctx, run = self.ctx, r.run
    test_idx = ctx.folds[run.fold][1]
    if last_epoch is None:   # resumed at its last epoch: the metrics kept with its checkpoint
      kept = wd.read_json(context.last_epoch_path(ctx.workdir, run.name))
      last_epoch = kept if kept and kept['epoch'] == r.epochs else None
    with ctx.stopwatch('evaluation'):
      # All real ROIs, then the fold's test ROIs on the host: one shape, so one compilation.
      logits = ctx.programs.predict(state, ctx.real['image'])
      preds = np.asarray(jnp.argmax(logits, -1))[test_idx]
      cm = classification.confusion_matrix(ctx.ds.labels[test_idx], preds, ctx.num_classes)
    record = {'arm': run.arm, 'size': run.size, 'seed': run.seed, 'fold': run.fold,
              'epochs': r.epochs, 'steps': r.epochs * r.steps, 'n_train': int(r.n_train),
              'n_test': int(len(test_idx)), 'confusion': cm.tolist(),
              'final_train': None if last_epoch is None else
                             {k: float(last_epoch[k]) for k in ('loss', 'accuracy')},
              **classification.metrics_from_confusion(cm)}
    if context.is_replicates(ctx.config):   # which test ROIs it got right: every replicate tests
      record['test_correct'] = classification.pack_correct(   # on one cohort (summary.paired_runs)
          preds == ctx.ds.labels[test_idx])
    wd.write_json(context.record_path(ctx.workdir, run.name), record)
    return record

  def train(self, runs: list[RunState], epoch_fn, state, progress):
    """Trains runs (one, or several folds stacked for epoch_fn) from their common first epoch to
    their common last, checkpointing each run; returns the final (stacked) state and each run's
    last epoch's mean metrics (None for all if no epoch was left to train)."""
    cfg, sw, first = self.ctx.config, self.ctx.stopwatch, runs[0]
    last = [None] * len(runs)
    progress.update(first.start_epoch * first.steps * len(runs))
    online = first.run.arm == 'classic' and bool(cfg.classic.online)
    try:
      for epoch in range(first.start_epoch, first.epochs):
        with sw('classifier training'):
          state, metrics = epoch_fn(state, online)
          metrics = jax.device_get(metrics)
        done = epoch + 1
        for i, r in enumerate(runs):
          mine = metrics if len(runs) == 1 else jax.tree.map(lambda m: m[i], metrics)
          last[i] = mine
          if done % cfg.train.log_every == 0 or done == first.epochs:
            self.ctx.writer.scalars(done, mine, prefix=f'{r.run.name}/train_')
            progress.set_postfix_str(f'{r.run.name} loss {float(mine["loss"]):.3f}')
          if done % cfg.train.checkpoint_every == 0 or done == first.epochs:
            with sw('checkpointing'):   # written while training goes on
              checkpoints.save_state(r.mngr, done, state if len(runs) == 1
                                     else self.ctx.programs.fold_state(state, i), wait=False)
              wd.write_json(context.last_epoch_path(self.ctx.workdir, r.run.name),
                            {'epoch': done, **{k: float(v) for k, v in mine.items()}})
        progress.update(first.steps * len(runs))
    finally:
      with sw('checkpointing'):
        for r in runs:
          r.mngr.close()   # waits for the last save to be on disk, also when training raised
    return state, last

  def run(self, run: context.Run, progress) -> dict:
    """Trains and evaluates one run (resuming from its checkpoint) and returns its record."""
    return self.run_group([run], progress)[0]

  def run_group(self, runs: list[context.Run], progress) -> list[dict]:
    """Trains and evaluates the runs of one (arm, size, seed), each resuming from its checkpoint,
    and returns their records. With config.train.vmap_folds, folds whose padded training sets,
    schedules and resume points agree train stacked, under one vmapped epoch program; otherwise
    one after another. Each run keeps its keys, checkpoints and record either way."""
    if not (self.ctx.config.train.get('vmap_folds', False) and len(runs) > 1):
      return [self._train_stack([self.start(run)], progress)[0] for run in runs]
    states = [self.start(run) for run in runs]
    same = {(r.train_set['label'].shape, r.start_epoch, r.epochs, r.steps) for r in states}
    stacks = [states] if len(same) == 1 else [[r] for r in states]
    return [record for stack in stacks for record in self._train_stack(stack, progress)]

  def _train_stack(self, states: list[RunState], progress) -> list[dict]:
    """Trains runs (one, or several folds stacked) and returns their records."""
    prog = self.ctx.programs
    if len(states) == 1:
      r = states[0]
      state, last = self.train(
          states, lambda s, online: prog.epoch(s, r.train_set, r.n_train, r.k_train, online),
          r.state, progress)
      return [self.finish(r, state, last[0])]
    # stacked copies; each run's own set and state are let go (not held twice on the device)
    train_set = prog.stack([r.train_set for r in states])
    states = [dataclasses.replace(r, train_set=None) for r in states]
    state = prog.stack([r.state for r in states])
    states = [dataclasses.replace(r, state=None) for r in states]
    n_train = prog.stack([r.n_train for r in states])
    k_train = prog.stack([r.k_train for r in states])
    state, last = self.train(states, lambda s, online: prog.epoch_folds(
        s, train_set, n_train, k_train, online), state, progress)
    return [self.finish(r, prog.fold_state(state, i), last[i]) for i, r in enumerate(states)]
