"""The phantom's ceiling: the experiment's classifier on plentiful fresh ROIs, early-stopped."""

import json
import os

import pytest

from configs import no_aug
from liverjax import report
from liverjax.base import errors
from liverjax.experiment import classifier_job
from liverjax.tools import ceiling


def test_the_ceiling_learns_an_easy_phantom_and_is_reported(tmp_path):
  """An easy phantom (strong contrast, little noise, no atypical lesions): 600 fresh ROIs take
  the classifier far above the 36-ROI experiment's chance level; the 300-ROI check is nested in
  them; early stopping keeps the best validation epoch."""
  config = no_aug.get_config('smoke')
  config.progress = False
  config.data.phantom.update(counts=(12, 12, 12), contrast=2.0, noise_hu=6.0, overlap=0.0,
                             variety=0.0)
  config.model.update(features=(8, 16, 16), dense=32)
  config.train.learning_rate = 0.01
  work = str(tmp_path)
  classifier_job.train_and_evaluate(config, work)
  out = ceiling.run(work, rois=600, check_rois=300, max_epochs=6, patience=2)
  assert set(out['per_n']) == {'600', '300'}
  for r in out['per_n'].values():
    curve = [c['val_accuracy'] for c in r['curve']]
    assert r['val_accuracy'] == max(curve) == curve[r['best_epoch'] - 1]
    assert r['epochs'] == len(curve) <= 6 and len(r['accuracy']['per_fold']) == 3
  assert out['accuracy']['mean'] > 0.8, out['accuracy']
  assert out['saturation']['fewer'] == 300
  assert json.load(open(os.path.join(work, 'ceiling.json'))) == out
  text = open(report.write(work)).read()
  assert "## Headroom: the phantom's ceiling" in text and '| ceiling: 600 fresh ROIs |' in text


def test_the_ceiling_needs_the_phantom(tmp_path):
  config = no_aug.get_config('smoke').to_dict()
  config['data']['source'] = 'npz'
  json.dump(config, open(tmp_path / 'config.json', 'w'))
  json.dump({'test_indices': [[0]]}, open(tmp_path / 'data.json', 'w'))
  with pytest.raises(errors.ConfigError, match='needs the phantom'):
    ceiling.run(str(tmp_path), 100, 0, 1, 1)
