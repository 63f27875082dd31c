"""Inference over an experiment's units: paired differences with their intervals and p-values,
the smallest difference a design can detect, how many units a design needs for an effect, and
the ratio of two mean differences (Fieller).

Two designs (:class:`Design`), each a set of n units (a unit: every arm trained and tested once):
- ``replicates``: each unit trains on its own cohort and tests on ROIs no unit trained on, so
  units are independent: paired t, sign-flip p, variance of the mean s^2 / n.
- ``cv``: k-fold cross-validation repeated R times; the units are the n = kR splits (repeat,
  fold). Splits share training ROIs, so their differences are correlated and s^2 / n is too
  small. The corrected resampled t of Nadeau and Bengio (2003), as Bouckaert and Frank (2004)
  apply it to repeated k-fold, uses s^2 (1/n + n_test/n_train) with n - 1 degrees of freedom,
  written here s^2 c / n with c = 1 + n n_test/n_train. Repeats shrink only the first term: no
  number of them brings the interval's half-width below t s sqrt(n_test/n_train).

The minimum detectable difference (MDE; two-sided 5%, 80% power) of a design with n units and a
per-unit SD s of the paired differences is (t_.975,n-1 + t_.80,n-1) s sqrt(c / n).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import scipy.stats

ALPHA, POWER = 0.05, 0.80


@dataclasses.dataclass(frozen=True)
class Design:
  """How an experiment's units were drawn; c is the variance factor above."""
  kind: str                       # 'cv' or 'replicates'
  units: int                      # n: splits (kR) or replicates
  folds: int = 0                  # cv: k
  repeats: int = 1                # cv: R
  test_train_ratio: float = 0.0   # cv: mean over splits of n_test / n_train
  unit: str = 'independent replicates'   # replicates: what a unit is, in words

  @classmethod
  def cv(cls, folds: int, repeats: int, test_train_ratio: float) -> 'Design':
    return cls('cv', folds * repeats, folds, repeats, float(test_train_ratio))

  @classmethod
  def replicates(cls, n: int, unit: str = 'independent replicates') -> 'Design':
    return cls('replicates', int(n), unit=unit)

  def with_units(self, n: int) -> 'Design':
    """The same design with n units (a comparison may have fewer units than the design)."""
    return dataclasses.replace(self, units=int(n))

  @property
  def c(self) -> float:
    return 1.0 + self.units * self.test_train_ratio if self.kind == 'cv' else 1.0

  def describe(self) -> str:
    if self.kind == 'replicates':
      return f'{self.units} {self.unit}'
    reps = f' x {self.repeats} repeats' if self.repeats > 1 else ''
    return (f'{self.folds}-fold cross-validation{reps} ({self.units} splits), variance '
            f'corrected for shared training ROIs (n_test/n_train {self.test_train_ratio:.2f})')

  def to_dict(self) -> dict:
    return dict(dataclasses.asdict(self), c=self.c, description=self.describe())


@functools.lru_cache(maxsize=None)
def t_quantile(q: float, n: int) -> float:
  """Returns the q quantile of Student's t with n - 1 degrees of freedom."""
  return float(scipy.stats.t.ppf(q, n - 1))


def mde(sd: float, design: Design, shared_var: float = 0.0,
        shared_df: float = np.inf) -> float | None:
  """Returns the minimum detectable difference of the design for a per-unit SD sd (None below 2
  units); shared_var: the variance of the mean difference that more units do not shrink (one
  test cohort shared by every unit, :func:`shared_test_variance`)."""
  n = design.units
  if n < 2:
    return None
  spread = sd * sd * design.c / n
  df = _df(n, spread, shared_var, shared_df)
  return float((scipy.stats.t.ppf(1 - ALPHA / 2, df) + scipy.stats.t.ppf(POWER, df))
               * np.sqrt(spread + shared_var))


def _df(n: int, spread: float, shared_var: float, shared_df: float) -> float:
  """Welch-Satterthwaite degrees of freedom of spread + shared_var, spread estimated from n
  units and shared_var from shared_df + 1 test ROIs: n - 1 without a shared part."""
  if spread <= 0 or shared_var <= 0:
    return n - 1
  return (spread + shared_var) ** 2 / (spread ** 2 / (n - 1) + shared_var ** 2 / shared_df)


def shared_test_variance(correct_a, correct_b) -> float:
  """Returns the sampling variance, over test ROIs, of the mean difference in accuracy when every
  unit is tested on the same ROIs: correct_* (units, ROIs) of 0/1. The units' spread does not
  see it (they share the error), so a design with one test cohort adds it to the interval.

  It is var(mu_i) / N over the N ROIs' expected differences mu_i; the spread of the ROIs' means
  over units also holds the units' own noise, var_r(D_ri) / n per ROI, which is subtracted (the
  units' spread already carries it)."""
  d = np.asarray(correct_a, np.float64) - np.asarray(correct_b, np.float64)
  n, rois = d.shape
  within = float(d.var(0, ddof=1).mean()) / n if n > 1 else 0.0
  return max(float(d.mean(0).var(ddof=1)) - within, 0.0) / rois


def sd_upper(sd: float, n: int, confidence: float = 0.8) -> float:
  """Returns the one-sided upper `confidence` limit of a SD estimated from n values (chi-square):
  a design sized on it reaches its power with that confidence, not half the time."""
  return float(sd * np.sqrt((n - 1) / scipy.stats.chi2.ppf(1 - confidence, n - 1)))


def units_needed(effect: float, sd: float, design: Design, max_units: int = 10000) -> int | None:
  """Returns the smallest number of units (replicates; or splits, a whole number of repeats of
  design.folds) whose MDE is at most `effect`; None if none up to max_units can (cv: when
  effect is below the floor t s sqrt(n_test/n_train) that repeats never pass)."""
  step = design.folds if design.kind == 'cv' else 1
  for n in range(max(2, step), max_units + 1, step):
    d = dataclasses.replace(design, units=n, repeats=n // step if design.kind == 'cv' else 1)
    if mde(sd, d) <= effect:
      return n
  return None


def paired(a, b, design: Design, shared_var: float = 0.0, shared_df: float = np.inf,
           n_random: int = 20000) -> dict:
  """Returns the comparison a - b over matched units (each value a unit's mean over the seeds
  both arms ran): the mean difference with its 95% t interval (clipped to [-1, 1]), the t-test
  p-value, the SD of the differences and the MDE, under the design's variance (plus shared_var,
  the shared test cohort's, :func:`shared_test_variance`, estimated with shared_df degrees of
  freedom: one fewer than its ROIs; Welch-Satterthwaite degrees of freedom, n - 1 without it).
  Replicates also get a two-sided sign-flip p (exact up to 16 units, else n_random flips with a
  fixed seed; it cannot go below 2 / 2^n); for cv it would ignore the splits' correlation, so it
  is left out."""
  d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
  design = design.with_units(len(d))
  n = len(d)
  out = {'n': n, 'mean_diff': float(d.mean()) if n else None, 'design': design.describe()}
  if n < 2:
    return dict(out, ci95=[out['mean_diff']] * 2, p_ttest=None, sd=None, mde=None,
                why=f'{n} unit: a difference needs at least 2 to have an interval')
  sd = float(d.std(ddof=1))
  spread = sd * sd * design.c / n
  se = np.sqrt(spread + shared_var)
  df = _df(n, spread, shared_var, shared_df)
  half = float(scipy.stats.t.ppf(0.975, df)) * se
  out['ci95'] = [float(np.clip(d.mean() + s * half, -1.0, 1.0)) for s in (-1, 1)]
  if se > 0:
    out['p_ttest'] = float(2 * scipy.stats.t.sf(abs(d.mean()) / se, df))
  else:
    out['p_ttest'] = 1.0 if d.mean() == 0 else 0.0
  out['sd'], out['mde'] = sd, mde(sd, design, shared_var, shared_df)
  if design.kind == 'replicates':
    if n <= 16:
      signs = np.array([[1 - 2 * ((i >> j) & 1) for j in range(n)] for i in range(2 ** n)])
    else:
      signs = np.random.default_rng(0).choice([-1, 1], size=(n_random, n))
    stats = np.abs((signs * d).mean(1))
    out['p_permutation'] = float(np.mean(stats >= abs(d.mean()) - 1e-12))
  return out


def fieller(num, den, design: Design) -> dict:
  """Returns the ratio mean(num) / mean(den) of two paired differences over the same units, with
  its 95% Fieller interval (their covariance included, variances scaled by c / n). The interval
  is bounded only when mean(den) is above 0 at 95%; otherwise it is reported unbounded, ratio
  None, and why."""
  g, o = np.asarray(num, np.float64), np.asarray(den, np.float64)
  design = design.with_units(len(g))
  n = len(g)
  if n < 2:
    return {'ratio': None, 'ci95': None, 'bounded': False,
            'why': f'{n} unit: a ratio needs at least 2 to have an interval'}
  a, b = g.mean(), o.mean()
  cov = np.cov(np.stack([g, o]), ddof=1) * design.c / n
  t2 = t_quantile(0.975, n) ** 2
  qa, qb, qc = b * b - t2 * cov[1, 1], a * b - t2 * cov[0, 1], a * a - t2 * cov[0, 0]
  if b <= 0 or qa <= 0:
    return {'ratio': None, 'ci95': None, 'bounded': False,
            'why': "the denominator's interval holds 0: the ratio's interval is unbounded"}
  root = np.sqrt(max(qb * qb - qa * qc, 0.0))
  return {'ratio': float(a / b), 'ci95': [float((qb - root) / qa), float((qb + root) / qa)],
          'bounded': True}
