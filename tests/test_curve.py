"""The learning curve: one experiment per share of the training patients, and its report."""

import json
import os

from configs import learning_curve
from liverjax.experiment import curve_job
from liverjax.report import curve as curve_report


def test_a_fraction_scales_what_is_added_not_the_classic_set():
  config = learning_curve.get_config()
  sub = curve_job.fraction_config(config, 0.25)
  assert sub.job == 'classifier' and sub.data.fraction == 0.25
  assert sub.synthetic.per_class == (25, 125, 250, 500, 750, 1000)
  assert sub.oracle.rois_per_class == 250
  assert sub.classic.sizes == config.classic.sizes
  assert sub.synthetic.classic_size == config.synthetic.classic_size
  assert config.data.fraction == 1.0 and config.synthetic.per_class[0] == 100   # not changed
  config.curve.scale_added = False
  assert curve_job.fraction_config(config, 0.25).synthetic.per_class == config.synthetic.per_class


def test_learning_curve_runs_each_share_on_fewer_patients_and_reports(tmp_path):
  config = learning_curve.get_config('smoke')
  config.progress = False
  config.arms = ('none', 'classic')
  work = str(tmp_path)
  curve = curve_job.run(config, work)
  assert [p['fraction'] for p in curve['points']] == [0.5, 1.0]
  half, full = curve['points']
  for k in range(config.folds):   # fewer training ROIs, the same test ROIs
    assert half['train_rois_per_fold'][k] < full['train_rois_per_fold'][k]
  tests = [json.load(open(os.path.join(work, p['workdir'], 'data.json')))['test_indices']
           for p in curve['points']]
  assert tests[0] == tests[1]
  assert set(half['arms']) == {'none', 'classic'}
  md = open(curve_report.write(work)).read()
  assert '| 50% | ' in md and '| 100% | ' in md and '(fraction_0.5/report.md)' in md
  assert os.path.getsize(os.path.join(work, 'figures', 'learning_curve.png')) > 1000
  assert os.path.exists(os.path.join(work, 'learning_curve.html'))
  before = open(os.path.join(work, 'learning_curve.json')).read()
  assert curve_job.run(config, work) == curve   # a re-run finds every run done
  assert open(os.path.join(work, 'learning_curve.json')).read() == before
