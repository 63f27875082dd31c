"""The replicates benchmark (configs/benchmark.py): seeds apart from every other use, parts that
merge into the result of one workdir, and merges refused for parts that do not belong together."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from configs import benchmark, benchmark_diffusion, benchmark_diffusion_long
from liverjax.base import errors
from liverjax.datasets import cohorts
from liverjax.experiment import classifier_job
from liverjax.tools import merge, power
from liverjax.tools import ceiling


def test_every_cohort_seed_is_apart_from_the_main_jobs_and_from_each_other():
  config = benchmark.get_config('quick')
  seed = config.data.phantom.seed
  train = {cohorts.replicate_seed(seed, r) for r in range(cohorts.MAX_REPLICATES)}
  oracle = {seed + config.oracle.seed_offset + r for r in range(cohorts.MAX_REPLICATES)}
  test = {seed + cohorts.TEST_OFFSET}
  assert len(train) == cohorts.MAX_REPLICATES and not train & oracle and not (train | oracle) & test
  used_elsewhere = {0, 1} | {s + 3000 + f for s in (0, 1) for f in range(100)} | {
      ceiling.TRAIN_SEED, ceiling.VAL_SEED}
  assert not (train | oracle | test) & used_elsewhere
  assert config.seeds[0] != 0 and config.synthetic.gan_seed != 0   # not the main job's keys
  with pytest.raises(errors.ConfigError, match='replicate'):
    cohorts.replicate_seed(seed, cohorts.MAX_REPLICATES)


def test_the_diffusion_benchmark_is_the_benchmark_with_one_arm_more():
  """Same cohorts, seeds, sizes and replicates: its none, classic, dcgan and real runs repeat
  configs/benchmark.py's; only the arm, its config block and the declared primary differ."""
  for arg in ('quick', 'smoke', None):
    base, diff = (m.get_config(arg).to_dict() for m in (benchmark, benchmark_diffusion))
    assert diff.pop('arms') == ('none', 'classic', 'dcgan', 'diffusion', 'real')
    assert base.pop('arms') == ('none', 'classic', 'dcgan', 'real')
    assert (diff.pop('primary'), base.pop('primary')) == ('diffusion_vs_classic',
                                                          'dcgan_vs_classic')
    assert diff.pop('diffusion')['kind'] == 'diffusion'
    assert diff == base, arg


def test_the_long_diffusion_benchmark_differs_only_in_arms_and_training_length():
  """Its none, classic and real runs repeat the diffusion benchmark's; its diffusion model is
  that benchmark's but for the uncapped training (`:quick` only)."""
  for arg in ('quick', 'smoke', None):
    diff, long = (m.get_config(arg).to_dict() for m in (benchmark_diffusion,
                                                        benchmark_diffusion_long))
    assert long.pop('arms') == ('none', 'classic', 'diffusion', 'real')
    diff.pop('arms'), diff.pop('dcgan')
    d, l = diff.pop('diffusion'), long.pop('diffusion')
    assert l.pop('max_steps') == (0 if arg == 'quick' else d['max_steps'])
    d.pop('max_steps')
    assert (d, diff) == (l, long), arg
  assert benchmark_diffusion.get_config('quick').diffusion.max_steps == 480


def _part(root, first, count):
  config = benchmark.get_config('smoke')
  config.progress = False
  config.synthetic.quality = False
  config.replicates.first, config.replicates.count = first, count
  path = str(root / f'part{first}_{count}')
  classifier_job.train_and_evaluate(config, path)
  return path


def _set_provenance(path, commit, dirty=False):
  results = json.load(open(os.path.join(path, 'results.json')))
  results['provenance'].update(commit=commit, dirty=dirty)
  json.dump(results, open(os.path.join(path, 'results.json'), 'w'))


def test_parts_merge_into_the_result_of_one_workdir_and_odd_parts_are_refused(tmp_path):
  whole, a, b = _part(tmp_path, 0, 2), _part(tmp_path, 0, 1), _part(tmp_path, 1, 1)
  for name in os.listdir(os.path.join(whole, 'runs')):   # a replicate's runs do not depend on
    part = a if name.endswith('fold0.json') else b       # the part that ran it
    assert open(os.path.join(whole, 'runs', name)).read() == open(
        os.path.join(part, 'runs', name)).read(), name
  for p in (whole, a, b):
    _set_provenance(p, 'c0ffee')
  merged = merge.merge(str(tmp_path / 'merged'), [a, b])
  single = json.load(open(os.path.join(whole, 'results.json')))
  assert merged['paired_accuracy'] == single['paired_accuracy']
  assert merged['primary'] == 'dcgan_vs_classic' and merged['design']['units'] == 2
  assert merged['oracle_share'] == single['oracle_share']
  assert 'p_permutation' in merged['paired_accuracy']['dcgan_vs_classic']   # replicates: flips
  assert merged['data'] == single['data']                     # both replicates' cohorts
  merged_data, single_data = (json.load(open(os.path.join(d, 'data.json')))
                              for d in (tmp_path / 'merged', whole))
  assert merged_data == single_data
  assert sorted(os.listdir(tmp_path / 'merged' / 'figures')) == sorted(
      os.listdir(os.path.join(whole, 'figures')))               # the grids of both replicates
  # refused: overlapping replicates, another commit, a dirty tree, another config
  with pytest.raises(errors.ConfigError, match='replicate 0 is in both'):
    merge.merge(str(tmp_path / 'x'), [a, whole])
  other = str(tmp_path / 'other')
  shutil.copytree(b, other)
  _set_provenance(other, 'beef')
  with pytest.raises(errors.ConfigError, match='merge only from one commit'):
    merge.merge(str(tmp_path / 'x'), [a, other])
  _set_provenance(other, 'c0ffee', dirty=True)
  with pytest.raises(errors.ConfigError, match='clean'):
    merge.merge(str(tmp_path / 'x'), [a, other])
  _set_provenance(other, 'c0ffee')
  cfg = json.load(open(os.path.join(other, 'config.json')))
  cfg['train']['epochs'] += 1
  json.dump(cfg, open(os.path.join(other, 'config.json'), 'w'))
  with pytest.raises(errors.ConfigError, match='config.train.epochs'):
    merge.merge(str(tmp_path / 'x'), [a, other])
  assert not os.path.exists(tmp_path / 'x')                   # nothing written when refused
  # the command: one line and exit 2 when refused; the merged report otherwise
  out = subprocess.run([sys.executable, '-m', 'liverjax.tools.merge',
                        f'--workdir={tmp_path / "y"}', a, other], capture_output=True, text=True)
  assert out.returncode == 2 and out.stderr.count('\n') == 1, out.stderr
  out = subprocess.run([sys.executable, '-m', 'liverjax.tools.merge',
                        f'--workdir={tmp_path / "y"}', a, b], capture_output=True, text=True)
  assert out.returncode == 0, out.stderr
  report = open(tmp_path / 'y' / 'report.md').read()
  assert 'dcgan vs classic (primary)' in report and '2 independent replicates' in report
  # and the power tool sizes replicates on it
  p = power.plan(merged, None, 'dcgan_vs_classic', 7.0, None)
  assert p['design'] == 'replicates' and p['pilot_units'] == 2
