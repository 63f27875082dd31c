"""Wall time per pipeline stage, and XLA compilations counted as they happen.

``with stopwatch('classifier training'): ...`` adds the block's wall time to that stage (the block
should end on a host value or ``jax.block_until_ready`` so that asynchronous dispatch does not
move time into the next stage). :class:`CompileCounter` listens to JAX's monitoring events; the
stopwatch reports total compile time next to the stages (compiles happen inside the stages, so it is
part of them, not added to them).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time

import jax

_COMPILE_EVENT = 'backend_compile'   # '/jax/compilation/backend_compile_duration'


class CompileCounter:
  """Counts XLA backend compilations (and their seconds) while it is open: executables JAX
  builds, or reads from its persistent compilation cache when one is configured (the same event
  times both)."""

  def __init__(self):
    self.count, self.seconds = 0, 0.0
    self._open = True
    jax.monitoring.register_event_duration_secs_listener(self._listen)

  def _listen(self, event: str, duration: float, **kwargs) -> None:
    del kwargs
    if self._open and _COMPILE_EVENT in event:
      self.count += 1
      self.seconds += duration

  def close(self) -> None:
    if self._open:
      self._open = False
      try:
        jax.monitoring.unregister_event_duration_listener(self._listen)
      except (AssertionError, ValueError, AttributeError):   # already gone
        pass

  def __enter__(self) -> 'CompileCounter':
    return self

  def __exit__(self, *exc) -> None:
    self.close()


class Stopwatch:
  """Accumulates wall seconds per named stage, in first-use order. Stages may nest (GANs trained
  while the summary builds a pool): a stage's seconds exclude those of the stages inside it, so
  the stages and 'other' add up to the total."""

  def __init__(self):
    self.stages: dict[str, float] = collections.OrderedDict()
    self.t0 = time.perf_counter()
    self.compiles = CompileCounter()
    self._inner = []   # per open stage: seconds spent in the stages nested inside it

  @contextlib.contextmanager
  def __call__(self, stage: str):
    t = time.perf_counter()
    self._inner.append(0.0)
    try:
      yield
    finally:
      elapsed = time.perf_counter() - t
      inner = self._inner.pop()
      self.stages[stage] = self.stages.get(stage, 0.0) + elapsed - inner
      if self._inner:
        self._inner[-1] += elapsed

  def summary(self) -> dict:
    """Returns {'total_s', 'stages_s': {stage: s}, 'other_s', 'compile_s', 'compiles'}."""
    total = time.perf_counter() - self.t0
    stages = {k: round(v, 2) for k, v in self.stages.items()}
    return {'total_s': round(total, 1), 'stages_s': stages,
            'other_s': round(total - sum(self.stages.values()), 2),
            'compile_s': round(self.compiles.seconds, 2), 'compiles': self.compiles.count}

  def log(self) -> dict:
    """Logs the per-stage table and returns summary()."""
    s = self.summary()
    width = max([len(k) for k in s['stages_s']] + [5])
    lines = [f'  {k:<{width}} {v:8.1f} s  {100 * v / max(s["total_s"], 1e-9):5.1f}%'
             for k, v in s['stages_s'].items()]
    lines.append(f'  {"other":<{width}} {s["other_s"]:8.1f} s')
    lines.append(f'  {"total":<{width}} {s["total_s"]:8.1f} s  (of which XLA compilation '
                 f'{s["compile_s"]:.1f} s in {s["compiles"]} compiles)')
    logging.info('time per stage:\n%s', '\n'.join(lines))
    self.compiles.close()
    return s
