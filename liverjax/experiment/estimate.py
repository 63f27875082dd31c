"""The plan of a classifier experiment (or a GAN job) and an estimate of its wall time, before
training starts.

The runs and GANs still to train (finished runs and pools are skipped, as the job skips them),
their steps, and the seconds one step of each takes on this machine, timed on a few steps after
one compilation: classifier and GAN steps are most of a job's time (data, evaluation and the
quality metrics are not counted, nor compilation).
"""

from __future__ import annotations

import functools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.base import provenance
from liverjax.experiment import context, gan_trainer, training_sets
from liverjax.experiment.arms import ARMS, GENERATOR_ARMS
from liverjax.steps import classifier, epochs

TIMED_STEPS = 5


def _seconds_per_step(step, state, batch, steps: int = TIMED_STEPS) -> float:
  key = jax.random.key(0)
  state, _ = step(state, batch, key)           # compiles
  jax.block_until_ready(state)
  t = time.perf_counter()
  for i in range(steps):
    state, _ = step(state, batch, jax.random.fold_in(key, i))
  jax.block_until_ready(state)
  return (time.perf_counter() - t) / steps


def _batch(batch_size: int, num_classes: int) -> dict:
  return {'image': jnp.full((batch_size, 64, 64, 1), 0.5, jnp.float32),
          'label': jnp.arange(batch_size, dtype=jnp.int32) % num_classes}


def classifier_step_seconds(ctx: context.Context) -> float:
  """Returns the seconds of one classifier training step at the config's batch size."""
  state = classifier.init_state(ctx.model, ctx.tx, jax.random.key(0),
                                jnp.zeros((64, 64, 1), jnp.float32))
  step = jax.jit(functools.partial(classifier.train_step, model=ctx.model, tx=ctx.tx))
  return _seconds_per_step(step, state, _batch(ctx.config.train.batch_size, ctx.num_classes))


def gan_step_seconds(setup, batch_size: int, num_classes: int) -> float:
  """Returns the seconds of one training step of the generator `setup` (a GAN's or a diffusion
  model's, from builders.make_gan_setup)."""
  steps = gan_trainer.steps_of(setup)
  step = jax.jit(functools.partial(steps.train_step, setup=setup))
  return _seconds_per_step(step, steps.init_state(setup, jax.random.key(0)),
                           _batch(batch_size, num_classes))


def plan(ctx: context.Context, runs: list[context.Run],
         built: frozenset[tuple[str, int]] = frozenset()) -> dict:
  """Returns what is left to train: {'runs', 'steps', 'gans': {kind: (models, steps)}, 'pools':
  {kind: steps}}. 'gans' are the GANs to train (a fold whose pool was written once is restored
  from its checkpoints, at no cost counted here); 'pools' the GAN steps the job's progress bar
  counts, restored ones too (GANTrainer.fit counts a restored GAN's steps as done). Pools
  already built, (kind, fold) in `built` (TrainingSets.built), need neither."""
  todo = [r for r in runs if not os.path.exists(context.record_path(ctx.workdir, r.name))]
  out = {'runs': len(todo), 'steps': int(sum(np.prod(ctx.schedule(r)) for r in todo)),
         'gans': {}, 'pools': {}}
  pool_of = lambda r: ARMS[r.arm].source or r.arm        # a synthetic_only arm: its source's pool
  for kind in sorted({pool_of(r) for r in todo} & set(GENERATOR_ARMS)):
    folds = {r.fold for r in todo if pool_of(r) == kind and (kind, r.fold) not in built}
    if not folds:
      continue
    g = ctx.config[kind]
    names = gan_trainer.model_names(ctx.gan_setups[kind].kind, ctx.ds.classes)
    steps = sum(int(np.prod(epochs.schedule(g.augmented_per_class * len(cls), g.batch_size,
                                            g.epochs, g.max_steps))) for _, cls in names)
    out['pools'][kind] = steps * len(folds)
    folds -= {f for f in folds
              if os.path.exists(training_sets.diversity_path(ctx.workdir, kind, f))}
    if folds:
      out['gans'][kind] = (len(names) * len(folds), steps * len(folds))
  return out


def step_costs(ctx: context.Context, p: dict) -> dict[str, float]:
  """Returns the seconds of one step of each kind the plan p trains: {'classifier', <GAN arm>}."""
  costs = {'classifier': classifier_step_seconds(ctx) if p['steps'] else 0.0}
  return costs | {kind: gan_step_seconds(ctx.gan_setups[kind], ctx.config[kind].batch_size,
                                         ctx.num_classes) for kind in p['gans']}


def describe(p: dict, costs: dict[str, float]) -> str:
  """Returns the plan p and its estimated wall time at the step costs, as one line."""
  seconds = p['steps'] * costs['classifier'] + sum(
      steps * costs[kind] for kind, (_, steps) in p['gans'].items())
  gans = [f'{models} {gan_trainer.plural(kind, models)} ({steps:,} steps)'
          for kind, (models, steps) in p['gans'].items()]
  return (f'plan: {p["runs"]} classifier runs ({p["steps"]:,} steps)' +
          (f', {", ".join(gans)}' if gans else '') +
          f'; about {seconds / 60:.0f} min of training on {where()}, timed on '
          f'{TIMED_STEPS} steps of each (plus compilation, data and evaluation)')


def where() -> str:
  """Returns this machine as an estimate names it: the CPU's model and vector instructions."""
  cpu = provenance.cpu()
  return (f'this CPU ({cpu["model"]}, {"/".join(cpu["isa"]) or "no AVX2"})'
          if jax.default_backend() == 'cpu' else f'this {jax.devices()[0].device_kind}')

