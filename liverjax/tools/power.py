"""How many units a design needs to detect an effect, sized on a finished pilot run.

  python -m liverjax.tools.power --workdir=PILOT --effect=7 [--comparison=dcgan_vs_classic]
      [--design=cv|replicates]

Reads the pilot's results.json (its design and the paired differences of the comparison) and
timing.json (its wall time). The per-unit SD of the differences is taken at its upper 80%
confidence limit (a pilot of few units guesses it low half the time), and the tool says how many
units reach a minimum detectable difference (two-sided 5%, 80% power) of `effect` points:
- ``--design=cv`` (default for a cross-validation pilot): repeats of the pilot's k folds. The
  corrected variance keeps a term n_test/n_train that no repeat shrinks; below that floor the
  tool says no number of repeats can reach the effect.
- ``--design=replicates``: independent replicates (each arm trained on its own cohort, tested on
  a large one). A cross-validation pilot's per-split SD also carries its
  small test parts' noise, so it over-states a replicate's: the count is on the safe side.
The wall time is the pilot's per unit times the units, on the machine that ran the pilot.
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags

from liverjax.base import cli, errors, workdir as wd
from liverjax.evaluation import inference

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'A finished classifier experiment (the pilot).')
  flags.DEFINE_float('effect', 7.0, 'The difference to detect, in accuracy points.')
  flags.DEFINE_string('comparison', 'dcgan_vs_classic', 'A key of results.json paired_accuracy.')
  flags.DEFINE_enum('design', None, ['cv', 'replicates'], 'The planned design (default: the '
                    'pilot\'s).')


def pilot_differences(results: dict, comparison: str) -> np.ndarray:
  """Returns the pilot's paired differences per unit of `comparison` (arm_vs_ref), from the two
  arms' per-unit accuracies at their reported sizes."""
  arm, _, ref = comparison.partition('_vs_')
  arms = results.get('arms', {})
  if arm not in arms or ref not in arms:
    known = ', '.join(results.get('paired_accuracy', {})) or 'none'
    raise errors.ConfigError(f'--comparison={comparison}: the pilot has no such comparison '
                             f'(it has: {known})')
  a, b = (np.asarray(arms[x]['accuracy']['per_fold']) for x in (arm, ref))
  return a - b


def plan(results: dict, seconds: float | None, comparison: str, effect: float,
         design: str | None) -> dict:
  """Returns the sizing: the pilot's SD and its upper 80% limit, the units and repeats needed
  (None where none can reach the effect) and their wall time at the pilot's cost per unit."""
  d = pilot_differences(results, comparison)
  if len(d) < 2:
    raise errors.ConfigError(f'the pilot has {len(d)} unit: it needs 2 or more to estimate a SD')
  pilot = results.get('design') or {'kind': 'cv', 'folds': len(d), 'repeats': 1}
  if pilot['kind'] == 'cv':
    pilot_design = inference.Design.cv(pilot['folds'], pilot['repeats'],
                                       pilot.get('test_train_ratio', 1 / (pilot['folds'] - 1)))
  else:
    pilot_design = inference.Design.replicates(len(d))
  sd = float(d.std(ddof=1))
  sd_hi = inference.sd_upper(sd, len(d))
  kind = design or pilot_design.kind
  target = pilot_design if kind == 'cv' else inference.Design.replicates(2)
  if kind == 'cv' and pilot_design.kind != 'cv':
    raise errors.ConfigError('--design=cv needs a cross-validation pilot (its folds and '
                             'n_test/n_train)')
  units = inference.units_needed(effect / 100, sd_hi, target)
  per_unit = seconds / len(d) if seconds else None
  return {'comparison': comparison, 'effect': effect, 'pilot': pilot_design.describe(),
          'pilot_units': len(d), 'sd': sd, 'sd_upper80': sd_hi,
          'pilot_mde': inference.mde(sd, pilot_design), 'design': kind, 'units': units,
          'repeats': units // target.folds if units and kind == 'cv' else None,
          'seconds': units * per_unit if units and per_unit else None,
          'floor': inference.mde(sd_hi, target.with_units(10 ** 6)) if kind == 'cv' else None}


def describe(p: dict) -> list[str]:
  """Returns the sizing in words."""
  pts = lambda x: f'{100 * x:.1f}'
  lines = [f'pilot: {p["pilot"]}; {p["comparison"]}: per-unit SD {pts(p["sd"])} points '
           f'(upper 80% limit {pts(p["sd_upper80"])}); it could detect '
           f'{pts(p["pilot_mde"])} points']
  if p['units'] is None:
    lines.append(f'no number of repeats of this cross-validation detects {p["effect"]:g} points:'
                 f' the corrected variance keeps n_test/n_train, and its floor is '
                 f'{pts(p["floor"])} points; draw independent replicates (--design=replicates) '
                 'or more ROIs')
    return lines
  what = (f'{p["repeats"]} repeats of the {p["units"] // p["repeats"]} folds ({p["units"]} splits)'
          if p['design'] == 'cv' else f'{p["units"]} independent replicates')
  when = (f', about {p["seconds"] / 3600:.1f} hours at the pilot\'s cost per unit (on the machine '
          'that ran it)' if p['seconds'] else '')
  lines.append(f'to detect {p["effect"]:g} points (two-sided 5%, 80% power): {what}{when}')
  return lines


def main(argv):
  del argv
  results = wd.read_json(os.path.join(FLAGS.workdir, 'results.json'))
  if results is None:
    raise errors.WorkdirError(f'{FLAGS.workdir}: no results.json (is it a finished experiment?)')
  timing = wd.read_json(os.path.join(FLAGS.workdir, 'timing.json')) or {}
  p = plan(results, timing.get('total_s'), FLAGS.comparison, FLAGS.effect, FLAGS.design)
  print('\n'.join(describe(p)))


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir'])
  cli.run(main)
