"""benchmarks/pair_benchmarks.py: an arm of one replicates benchmark paired with an arm of another
gives what the report gives two arms of one benchmark, and only when the two share their
replicates (a common arm's runs equal in every field)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import pair_benchmarks as pb
from liverjax.evaluation import classification, inference
from liverjax.experiment import summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_TEST = 50


def _run(arm, rep, rng, p):
  correct = rng.random(N_TEST) < p
  return {'arm': arm, 'size': 10, 'seed': 7, 'fold': rep, 'n_test': N_TEST,
          'accuracy': float(correct.mean()), 'test_correct': classification.pack_correct(correct)}


def _sides(reps=4):
  """Two benchmarks: classic shared (the same runs), 'x' only in a, 'y' in both but different."""
  rng = np.random.default_rng(0)
  a, b = {}, {}
  for rep in range(reps):
    classic = _run('classic', rep, rng, 0.6)
    for side, arms in ((a, [classic, _run('x', rep, rng, 0.7), _run('y', rep, rng, 0.5)]),
                       (b, [classic, _run('y', rep, rng, 0.65)])):
      side.update({(r['arm'], r['size'], r['seed'], r['fold']): dict(r) for r in arms})
  return a, b


def test_a_pair_across_benchmarks_is_the_reports_pair_within_one():
  a, b = _sides()
  got = pb.compare(a, b, 'x', 'y')
  one = [r for k, r in a.items() if k[0] == 'x'] + [dict(r, arm='y_b') for k, r in b.items()
                                                   if k[0] == 'y']
  want = summary.paired_runs(one, ('x', 10), ('y_b', 10), inference.Design.replicates(4))
  assert got['replicates'] == [0, 1, 2, 3]
  for key in ('mean_diff', 'ci95', 'p_ttest', 'p_permutation', 'mde'):
    assert got[key] == want[key], key
  assert got['ci95'][0] < got['mean_diff'] < got['ci95'][1]


def test_a_shared_arm_that_differs_refuses_the_pair():
  a, b = _sides()
  b[('classic', 10, 7, 2)]['accuracy'] += 0.02   # replicate 2 ran on another cohort or key
  with pytest.raises(ValueError, match=r"classic_n10_seed7 replicate 2 .*field 'accuracy'"):
    pb.compare(a, b, 'x', 'y')
  # The compared arms themselves may differ: 'y' differs between the sides and is compared.
  a, b = _sides()
  pb.compare(a, b, 'y', 'y')


def test_a_replicate_with_no_other_shared_arm_refuses_the_pair():
  a, b = _sides()
  del b[('classic', 10, 7, 1)]
  with pytest.raises(ValueError, match='replicate 1: no other arm ran on both sides'):
    pb.compare(a, b, 'x', 'y')


def test_the_command_writes_its_comparisons(tmp_path):
  a, b = _sides()
  for name, side in (('a', a), ('b', b)):
    os.makedirs(tmp_path / name / 'runs')
    for (arm, size, seed, rep), r in side.items():
      with open(tmp_path / name / 'runs' / f'{arm}_n{size}_seed{seed}_fold{rep}.json', 'w') as f:
        json.dump(r, f)
  out = tmp_path / 'pairs.json'
  subprocess.run([sys.executable, 'benchmarks/pair_benchmarks.py', f'--a={tmp_path / "a"}',
                  f'--b={tmp_path / "b"}', '--compare=x:y', f'--out={out}'], cwd=ROOT,
                 check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))
  got = json.loads(out.read_text())['x@a_vs_y@b']
  assert got['mean_diff'] == pb.compare(a, b, 'x', 'y')['mean_diff']
