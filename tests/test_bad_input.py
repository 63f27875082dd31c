"""Bad input through launch.py: exit code 2, one line naming the file and the problem, and nothing
written to the workdir. (Loader-level details: test_data.py; CT volumes and masks: test_ct.py.)"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import launch
from configs import classic_aug, dcgan
from test_data import _bad_cases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FOLDER_CASES = {   # case in test_data._bad_cases -> (text in the message)
    'missing': 'no such folder', 'empty': 'no class folders', 'one_class': 'only one class',
    'class_without_images': 'class folder has no images', 'truncated_png': 'bad.png: cannot read',
    'non_image': 'notes.txt: not an image file', 'tiny': 'smaller than 8x8',
    'nan': 'nan.npy: contains NaN', 'unscaled': 'hu.npy', 'corrupt_npy': 'x.npy: cannot read',
    'groups_missing_entry': 'groups.csv: no group for 1 file',
    'groups_unknown_file': 'groups.csv: names 1 file(s) not in the data set',
    'duplicate': 'copy.png: identical to', 'not_a_folder': 'a_file: not a folder'}


def _npz_cases(tmp_path):
  rng = np.random.default_rng(0)
  imgs = rng.uniform(size=(6, 16, 16)).astype(np.float32)
  cases = {}

  def save(name, **arrays):
    np.savez(tmp_path / name, **arrays)
    return str(tmp_path / name)
  cases['npz_missing'] = (str(tmp_path / 'nope.npz'), 'nope.npz: no such file')
  (tmp_path / 'dir.npz').mkdir()
  cases['npz_is_folder'] = (str(tmp_path / 'dir.npz'), 'dir.npz: not a file')
  (tmp_path / 'trunc.npz').write_bytes(open(save('t.npz', images=imgs, labels=np.arange(6) % 2),
                                            'rb').read()[:200])
  cases['npz_truncated'] = (str(tmp_path / 'trunc.npz'), 'trunc.npz: cannot read')
  cases['npz_labels_out_of_range'] = (save('r.npz', images=imgs, labels=np.array([0, 1, 2] * 2),
                                           classes=np.array(['a', 'b'])),
                                      'r.npz: labels span [0, 2], outside the 2 classes')
  cases['npz_labels_not_matching_classes'] = (
      save('m.npz', images=imgs, labels=np.arange(6) % 2, classes=np.array(['a', 'b', 'c'])),
      "m.npz: no images labelled with class 'c'")
  cases['npz_inf'] = (save('i.npz', images=np.where(imgs > 0.99, np.inf, imgs),
                           labels=np.arange(6) % 2), 'i.npz: images[')
  return cases


CASES = sorted(FOLDER_CASES) + ['npz_missing', 'npz_is_folder', 'npz_truncated',
                                'npz_labels_out_of_range', 'npz_labels_not_matching_classes',
                                'npz_inf']


@pytest.mark.parametrize('job', ['classifier', 'gan'])
@pytest.mark.parametrize('case', CASES)
def test_bad_data_exit_2_one_line_nothing_written(tmp_path, capsys, case, job):
  if case in FOLDER_CASES:
    root, _ = _bad_cases(tmp_path)[case]
    source, path, message = 'folder', str(root), FOLDER_CASES[case]
  else:
    path, message = _npz_cases(tmp_path)[case]
    source = 'npz'
  c = classic_aug.get_config('smoke') if job == 'classifier' else dcgan.get_config('smoke')
  c.data.source, c.data.path = source, path
  work = tmp_path / 'work'
  rc = launch.run(c, str(work))
  err = capsys.readouterr().err.strip()
  assert rc == 2
  assert err.startswith('error: ') and '\n' not in err and message in err, err
  assert not work.exists()


def test_workdir_of_another_config_is_refused_untouched(tmp_path, capsys):
  work = tmp_path / 'w'
  work.mkdir()
  other = classic_aug.get_config('smoke')
  other.train.learning_rate = 0.5
  (work / 'config.json').write_text(json.dumps(other.to_dict()))
  before = sorted(os.listdir(work))
  rc = launch.run(classic_aug.get_config('smoke'), str(work))
  err = capsys.readouterr().err.strip()
  assert rc == 2 and 'holds a run of another config (differs in train)' in err
  assert '--config.overwrite=True' in err and '\n' not in err
  assert sorted(os.listdir(work)) == before
  older = classic_aug.get_config('smoke').to_dict()
  del older['cv']                  # a config.json written before config.cv existed: named as such
  (work / 'config.json').write_text(json.dumps(older))
  rc = launch.run(classic_aug.get_config('smoke'), str(work))
  err = capsys.readouterr().err.strip()
  assert rc == 2 and '(differs in cv; its config.json has no cv: written by an older' in err, err
  assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize('args,message', [
    (['--config=configs/classic_aug.py:smoke', '--config.nope=1'], "unknown config key 'nope'"),
    (['--config=configs/classic_aug.py:smoke', '--config.train.epochs=two'],
     '--config.train.epochs=two'),
    (['--config=configs/nope.py'], 'configs/nope.py'),
    (['--config=configs/classic_aug.py:bogus'], "unknown variant 'bogus'"),
    (['--config=configs/classic_aug.py:smoke', '--config.model.matmul_dtype=float16'],
     "config.model.matmul_dtype='float16': expected one of ['bfloat16', 'float32']"),
])
def test_bad_command_line_exit_2_one_line(tmp_path, args, message):
  work = tmp_path / 'w'
  proc = subprocess.run([sys.executable, 'launch.py', *args, f'--workdir={work}'], cwd=ROOT,
                        capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_PLATFORMS='cpu'))
  err = proc.stderr.strip()
  assert proc.returncode == 2 and err.startswith('error: ') and '\n' not in err, err
  assert message in err
  assert not work.exists()


def test_ct_command_bad_input_exit_2_one_line(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'liverjax.tools.ct_rois', '--volume=missing.nii.gz',
                         '--mask=missing_mask.nii.gz', f'--out={tmp_path / "o.npz"}'], cwd=ROOT,
                        capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, PYTHONPATH=ROOT))
  err = proc.stderr.strip()
  assert proc.returncode == 2 and err == 'error: missing.nii.gz: no such file or folder', err
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('flag,message', [
    ('--spacing=1,2', '--spacing=1,2: expected 3 numbers'),
    ('--dicom_rescale=1', '--dicom_rescale=1: expected 2 numbers')])
def test_ct_command_bad_numbers_exit_2_one_line(tmp_path, flag, message):
  proc = subprocess.run([sys.executable, '-m', 'liverjax.tools.ct_rois', '--volume=v.npy',
                         '--mask=m.npy', f'--out={tmp_path / "o.npz"}', flag], cwd=ROOT,
                        capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, PYTHONPATH=ROOT))
  assert proc.returncode == 2 and proc.stderr.strip() == f'error: {message}', proc.stderr
  assert os.listdir(tmp_path) == []
