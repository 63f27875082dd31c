"""The plan and wall-time estimate printed before a classifier experiment trains."""

import json
import os

import numpy as np
import pytest

from configs import dcgan_aug
from liverjax.experiment import context, estimate, gan_trainer, progress


def test_the_plan_counts_what_is_left_and_the_estimate_times_each_kind_of_step(tmp_path):
  config = dcgan_aug.get_config('smoke')
  config.progress = False
  ctx = context.build(config, str(tmp_path))
  runs = context.plan(config)
  p = estimate.plan(ctx, runs)
  assert p['runs'] == len(runs) == 3 * (1 + 1 + 2)          # none, classic, dcgan x 2 sizes
  assert p['steps'] == sum(int(np.prod(ctx.schedule(r))) for r in runs)
  trainer = gan_trainer.GANTrainer(ctx.gan_setups['dcgan'], config.dcgan, ctx.mesh, None)
  assert p['gans']['dcgan'] == (3 * 3, 3 * trainer.total_steps(ctx.ds.classes))   # 3 folds
  done = runs[0]                                               # a finished run is not counted
  os.makedirs(tmp_path / 'runs')
  (tmp_path / 'runs' / f'{done.name}.json').write_text(json.dumps({}))
  assert estimate.plan(ctx, runs)['runs'] == len(runs) - 1
  line = estimate.estimate(ctx, runs)
  assert line.startswith(f'plan: {len(runs) - 1} classifier runs') and '9 dcgan GANs' in line
  assert 'min of training on this CPU' in line
  assert estimate.classifier_step_seconds(ctx) > 0 and estimate.gan_step_seconds(ctx, 'dcgan') > 0


def test_the_job_bar_weighs_each_kind_of_step_by_its_cost_and_counts_when_disabled():
  job = progress.JobProgress({'classifier': 100, 'dcgan': 50}, {'classifier': 0.01, 'dcgan': 0.04},
                             enabled=False)
  assert job.total == pytest.approx(100 * 0.01 + 50 * 0.04)
  job.stage('classifier').update(100)                       # all classifier steps: a third
  assert job.fraction == pytest.approx(1 / 3)
  job.stage('dcgan').update(50)
  assert job.fraction == pytest.approx(1.0)
  plain = progress.JobProgress({'classifier': 100, 'dcgan': 50}, None, enabled=False)
  plain.stage('dcgan').update(50)                           # without costs a step weighs 1
  assert plain.fraction == pytest.approx(50 / 150)
