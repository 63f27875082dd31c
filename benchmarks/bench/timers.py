"""Timers shared by the benchmarks: wall time and page faults of a call, a compiled scanned epoch
of a train step (``epochs.train_epoch``, as training runs it), a compiled scan of a layer's
forward pass and both gradients, and runners timed alternately."""

from __future__ import annotations

import functools
import resource
import statistics
import time
from typing import Callable

import jax
import jax.numpy as jnp

from liverjax.steps import epochs


def seconds(f) -> float:
  """Returns the wall time of one call of f."""
  t = time.perf_counter()
  f()
  return time.perf_counter() - t


def minor_faults(f) -> int:
  """Returns the minor page faults of the process while f runs."""
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  f()
  return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def epoch_runner(step_fn, state, batch, key, steps: int) -> Callable[[], None]:
  """Returns a no-argument function that runs `steps` steps of step_fn as one compiled epoch
  under lax.scan (epochs.train_epoch, as training runs them, on `batch` repeated `steps` times),
  each call going on from the last call's state; compiled by a first call here."""
  data = {name: jnp.concatenate([a] * steps) for name, a in batch.items()}
  batch_size = next(iter(batch.values())).shape[0]
  epoch = jax.jit(functools.partial(epochs.train_epoch, step_fn=step_fn, batch_size=batch_size),
                  donate_argnums=0)
  holder = {'state': jax.tree.map(jnp.copy, state)}

  def run():
    holder['state'], _ = jax.block_until_ready(epoch(holder['state'], data, key))
  run()
  return run


def grads_scan_runner(fn, x: jax.Array, kernel: jax.Array, steps: int) -> Callable[[], None]:
  """Returns a no-argument function that runs `steps` forward passes of fn(x, kernel) with both
  gradients of sum(y^2) in one compiled lax.scan (as training runs a layer); each step's input
  depends on the last step's gradients, so XLA cannot hoist the work out of the loop."""
  grad = jax.grad(lambda k, x: jnp.sum(fn(x, k) ** 2), argnums=(0, 1))

  @jax.jit
  def run(kernel, x):
    def body(c, _):
      gk, gx = grad(kernel, x + c)
      return c + 1e-9 * (jnp.sum(gk) + jnp.sum(gx)), None
    return jax.lax.scan(body, jnp.zeros((), x.dtype), None, length=steps)[0]

  run(kernel, x).block_until_ready()   # compile
  return lambda: run(kernel, x).block_until_ready()


def interleaved_ms(runners: dict, reps: int, steps: int) -> dict[str, list[float]]:
  """Runs the no-argument runners alternately (A B C A B C ...) reps times, each call `steps`
  steps; returns each runner's ms per step, one figure a rep. A runner that is None is skipped
  (its list stays empty)."""
  times = {name: [] for name in runners}
  for _ in range(reps):
    for name, run in runners.items():
      if run is not None:
        times[name].append(1e3 * seconds(run) / steps)
  return times


def scan_ms(step_fn, state, batch, key, steps: int, reps: int = 3) -> float:
  """Returns ms per step of `steps` steps run as one epoch under lax.scan (epoch_runner), median
  of reps after a compiling call."""
  run = epoch_runner(step_fn, state, batch, key, steps)
  return statistics.median(interleaved_ms({'jax': run}, reps, steps)['jax'])
