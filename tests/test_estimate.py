"""The plan and wall-time estimate printed before a classifier experiment or a GAN job trains,
and the classifier job's one progress bar."""

import json
import logging
import os

import numpy as np
import pytest

from configs import dcgan, dcgan_aug
from liverjax.base import mesh as mesh_lib
from liverjax.experiment import builders, context, estimate, gan_job, gan_trainer, progress


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
  assert p['pools'] == {'dcgan': 3 * trainer.total_steps(ctx.ds.classes)}
  given = estimate.plan(ctx, runs, frozenset({('dcgan', 1)}))   # a pool built or given: no GANs
  assert given['gans']['dcgan'] == (2 * 3, 2 * trainer.total_steps(ctx.ds.classes))
  assert given['pools'] == {'dcgan': 2 * trainer.total_steps(ctx.ds.classes)}
  done = runs[0]                                               # a finished run is not counted
  os.makedirs(tmp_path / 'runs')
  (tmp_path / 'runs' / f'{done.name}.json').write_text(json.dumps({}))
  p = estimate.plan(ctx, runs)
  assert p['runs'] == len(runs) - 1
  line = estimate.describe(p, estimate.step_costs(ctx, p))
  assert line.startswith(f'plan: {len(runs) - 1} classifier runs') and '9 dcgan GANs' in line
  assert 'min of training on this CPU' in line
  assert estimate.classifier_step_seconds(ctx) > 0 and estimate.gan_step_seconds(
      ctx.gan_setups['dcgan'], config.dcgan.batch_size, ctx.num_classes) > 0


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


def test_the_gan_job_logs_its_plan_and_estimate_before_training(tmp_path, caplog):
  config = dcgan.get_config('smoke')
  config.progress = False
  config.estimate = True
  with caplog.at_level(logging.INFO):
    gan_job.run(config, str(tmp_path))
  plans = [r.getMessage() for r in caplog.records if r.getMessage().startswith('plan: ')]
  steps = gan_trainer.GANTrainer(builders.make_gan_setup(config.gan, 3), config.gan,
                                 mesh_lib.make_mesh(), None).total_steps(
                                     ('cyst', 'metastasis', 'hemangioma'))
  assert len(plans) == 1 and plans[0].startswith(f'plan: 3 dcgan GANs ({steps:,} steps); about ')
  assert 'min of training on this CPU' in plans[0]


def test_the_plan_names_one_model_and_several():
  line = estimate.describe({'runs': 5, 'steps': 100, 'gans': {'dcgan': (3, 1200),
                                                              'diffusion': (1, 480)}},
                           {'classifier': 0.1, 'dcgan': 0.2, 'diffusion': 1.0})
  assert '3 dcgan GANs (1,200 steps), 1 diffusion model (480 steps);' in line, line
  assert gan_trainer.plural('diffusion', 2) == 'diffusion models'
  assert gan_trainer.plural('acgan', 1) == 'acgan GAN'
