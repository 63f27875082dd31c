"""Train on synthetic, test on real (TSTR) beside TRTR: the synthetic_only recipe end to end."""

import os

import numpy as np
import pytest

from configs import tstr_aug
from liverjax import report
from liverjax.base import errors, workdir as wd
from liverjax.experiment import classifier_job, context, runner


def test_tstr_smoke_end_to_end(tmp_path):
  config = tstr_aug.get_config('smoke')
  config.arms = ('classic', 'dcgan', 'tstr_dcgan', 'trtr')   # what TSTR needs, and classic
  config.synthetic.per_class = (8,)
  config.progress = False
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  report.write(str(tmp_path))
  t = results['tstr']['tstr_dcgan']
  assert t['source'] == 'dcgan' and set(t['sizes']) == {'8'}
  for size, row in t['sizes'].items():
    images = 3 * int(size)
    assert row['images'] == images
    assert row['tstr'] == results['arms']['tstr_dcgan']['sweep'][size]['accuracy']
    assert row['trtr'] == results['arms']['trtr']['sweep'][size]['accuracy']
    assert row['paired']['n'] == 3
    diffs = []
    for fold in range(3):   # TSTR and TRTR: as many images and steps
      runs = [wd.read_json(context.record_path(str(tmp_path), context.run_name(a, int(size), 0, fold)))
              for a in ('tstr_dcgan', 'trtr')]
      assert runs[0]['n_train'] == runs[1]['n_train'] == images
      assert (runs[0]['epochs'], runs[0]['steps']) == (runs[1]['epochs'], runs[1]['steps'])
      diffs.append(runs[0]['accuracy'] - runs[1]['accuracy'])
    assert row['paired']['mean_diff'] == pytest.approx(np.mean(diffs), abs=1e-12)
  # not augmentations: no verdict against none or classic
  assert set(results['paired_accuracy']) == {'dcgan_vs_classic'}
  md = open(os.path.join(tmp_path, 'report.md')).read()
  assert '## Train on synthetic, test on real (TSTR)' in md and '| tstr_dcgan | dcgan | 8 | 24 |' in md
  # the TSTR training set: 8 images per class of the fold's DCGAN pool, and nothing else
  exp = runner.Runner(context.build(config, str(tmp_path)))
  run = context.Run('tstr_dcgan', 8, 0, 1)
  train_set, n = exp.sets.build(run, run.key)
  images, labels = np.asarray(train_set['image']), np.asarray(train_set['label'])
  assert n == len(labels) == 24 and np.bincount(labels).tolist() == [8, 8, 8]
  pool_images, pool_labels = (np.asarray(a) for a in exp.sets.pool('dcgan', 1))
  flat, pool_flat = images.reshape(24, -1), pool_images.reshape(len(pool_images), -1)
  nearest = np.abs(flat[:, None] - pool_flat[None]).max(-1).argmin(1)
  np.testing.assert_array_equal(images, pool_images[nearest])
  np.testing.assert_array_equal(labels, pool_labels[nearest])
  assert len(set(nearest.tolist())) == 24    # drawn without replacement


def test_a_tstr_arm_needs_its_gan_arm():
  config = tstr_aug.get_config('smoke')
  config.arms = ('none', 'classic', 'tstr_dcgan')
  with pytest.raises(errors.ConfigError, match='add dcgan to config.arms'):
    context.plan(config)
