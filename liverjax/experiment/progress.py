"""One progress bar for a whole classifier job.

A job trains classifiers and, for its GAN arms, the GANs of each fold, whose steps cost different
times. The bar counts every step of the job weighted by its measured cost (estimate.step_costs), so
that its percentage and remaining time cover the job, not the stage it is in; without measured
costs (config.estimate=False) every step weighs 1.

  job = JobProgress({'classifier': 6000, 'dcgan': 9000}, costs, enabled=True)
  job.stage('dcgan').update(100)     # 100 GAN steps
  job.close()
"""

from __future__ import annotations

import tqdm

FORMAT = '{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}'


class Stage:
  """What a stage's loop updates: steps of one kind, weighted into the job's bar."""

  def __init__(self, job: JobProgress, weight: float):
    self._job, self._weight = job, weight

  def update(self, steps: int) -> None:
    self._job.update(steps * self._weight)

  def set_postfix_str(self, text: str) -> None:
    self._job.bar.set_postfix_str(text)


class JobProgress:
  """The job's bar: total = sum over kinds of steps x seconds per step."""

  def __init__(self, steps: dict[str, int], costs: dict[str, float] | None, enabled: bool,
               desc: str = 'job'):
    # a kind with no measured cost has nothing to train (its GANs are restored): it weighs 0
    self.weights = {k: float(costs.get(k, 0.0)) if costs else 1.0 for k in steps}
    self.total = sum(n * self.weights[k] for k, n in steps.items())
    self.done = 0.0   # counted here too: a disabled tqdm counts nothing
    self.bar = tqdm.tqdm(total=self.total, desc=desc, bar_format=FORMAT, disable=not enabled,
                         smoothing=0.05)

  def stage(self, kind: str) -> Stage:
    return Stage(self, self.weights[kind])

  def update(self, amount: float) -> None:
    self.done += amount
    self.bar.update(amount)

  @property
  def fraction(self) -> float:
    """The share of the job's weighted steps done (1.0 at the end of a job whose plan was right)."""
    return self.done / self.total if self.total else 1.0

  def close(self) -> None:
    self.bar.close()
