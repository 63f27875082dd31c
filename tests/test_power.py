"""The power tool: sizes a design on a pilot's paired spread (liverjax.tools.power)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from liverjax.evaluation import inference
from liverjax.tools import power


def _pilot(tmp_path, diffs, design):
  classic = [0.70, 0.65, 0.72, 0.68, 0.71, 0.69][:len(diffs)]
  results = {'design': design.to_dict(), 'arms': {
      'classic': {'accuracy': {'per_fold': classic}},
      'dcgan': {'accuracy': {'per_fold': list(np.add(classic, diffs))}}}}
  (tmp_path / 'results.json').write_text(json.dumps(results))
  (tmp_path / 'timing.json').write_text(json.dumps({'total_s': 3600.0 * len(diffs)}))
  return results


def test_replicates_are_sized_on_the_upper_limit_of_the_pilots_sd(tmp_path):
  diffs = [0.02, -0.05, 0.08]
  results = _pilot(tmp_path, diffs, inference.Design.cv(3, 1, 0.5))
  p = power.plan(results, 3 * 3600.0, 'dcgan_vs_classic', 7.0, 'replicates')
  sd_hi = inference.sd_upper(np.std(diffs, ddof=1), 3)
  assert p['sd_upper80'] == pytest.approx(sd_hi) and sd_hi > np.std(diffs, ddof=1)
  n = p['units']
  rep = inference.Design.replicates(n)
  assert inference.mde(sd_hi, rep) <= 0.07 < inference.mde(sd_hi, rep.with_units(n - 1))
  assert p['seconds'] == pytest.approx(n * 3600.0)       # the pilot's hour per unit
  assert f'{n} independent replicates, about {n:.1f} hours' in '\n'.join(power.describe(p))


def test_cv_repeats_cannot_pass_their_floor_and_the_tool_says_so(tmp_path):
  _pilot(tmp_path, [0.02, -0.05, 0.08], inference.Design.cv(3, 1, 0.5))
  out = subprocess.run([sys.executable, '-m', 'liverjax.tools.power', f'--workdir={tmp_path}',
                        '--effect=7'], capture_output=True, text=True)
  assert out.returncode == 0, out.stderr
  assert 'no number of repeats of this cross-validation detects 7 points' in out.stdout
  easy = subprocess.run([sys.executable, '-m', 'liverjax.tools.power', f'--workdir={tmp_path}',
                         '--effect=40'], capture_output=True, text=True)
  assert 'repeats of the 3 folds' in easy.stdout, easy.stdout
  bad = subprocess.run([sys.executable, '-m', 'liverjax.tools.power', f'--workdir={tmp_path}',
                        '--comparison=acgan_vs_classic'], capture_output=True, text=True)
  assert bad.returncode == 2 and bad.stderr.count('\n') == 1 and 'dcgan' not in bad.stdout
