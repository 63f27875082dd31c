"""Real CT: the LiTS volume shipped in the PyPI wheel liver-ct-segmentation-package==1.6.0.

The wheel is fetched with `pip download --no-deps` into a cache (LIVERJAX_CACHE, default
~/.cache/liverjax) on first use and never committed (LiTS is CC BY-NC-SA); without the package index
the tests are skipped, saying why.
"""

import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from configs import all_aug
from liverjax.datasets import files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL = 'liver-ct-segmentation-package==1.6.0'
MEMBERS = ('img_117.mrc', 'lab_117.mrc')


def fetch_lits() -> tuple[str, str]:
  """Returns the paths of img_117.mrc and lab_117.mrc, downloading the wheel if needed."""
  cache = os.path.join(os.environ.get('LIVERJAX_CACHE', os.path.expanduser('~/.cache/liverjax')),
                       'lits117')
  paths = tuple(os.path.join(cache, m) for m in MEMBERS)
  if all(os.path.exists(p) for p in paths):
    return paths
  os.makedirs(cache, exist_ok=True)
  try:
    proc = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '-q', WHEEL,
                           '-d', cache], capture_output=True, text=True, timeout=300)
  except (OSError, subprocess.TimeoutExpired) as e:
    pytest.skip(f'cannot run pip download {WHEEL}: {e}')
  wheels = [f for f in os.listdir(cache) if f.endswith('.whl')]
  if proc.returncode != 0 or not wheels:
    pytest.skip(f'package index unreachable: pip download {WHEEL} failed: '
                f'{(proc.stderr.strip().splitlines() or ["?"])[-1]}')
  with zipfile.ZipFile(os.path.join(cache, wheels[0])) as z:
    for m, p in zip(MEMBERS, paths):
      with z.open(f'liver_ct_segmentation_package/data/{m}') as src, open(p + '.tmp', 'wb') as dst:
        dst.write(src.read())
      os.replace(p + '.tmp', p)
  return paths


@pytest.fixture(scope='module')
def lits_npz(tmp_path_factory):
  img, lab = fetch_lits()
  out = str(tmp_path_factory.mktemp('lits') / 'lits.npz')
  proc = subprocess.run(
      [sys.executable, '-m', 'liverjax.tools.ct_rois', f'--volume={img}', f'--mask={lab}',
       '--lesion_labels=2', '--slices=largest', '--class_name=tumour', '--normal_per_volume=60',
       '--group_by=lesion',
       f'--out={out}'], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
      text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  return out


def test_lits_rois(lits_npz):
  ds = files.load_npz(lits_npz)
  assert ds.classes == ('liver', 'tumour')
  n_liver, n_tumour = ds.class_counts()
  # 70 tumour components in lab_117, 66 of at least 10 voxels; normal patches that fit
  assert n_tumour == 66 and 10 <= n_liver <= 60
  assert len(np.unique(ds.groups)) == len(ds)      # one ROI per lesion / site, grouped by lesion
  with np.load(lits_npz) as z:
    centres = z['centres']
  _, lab = fetch_lits()
  import mrcfile
  with mrcfile.open(lab) as m:
    mask = np.asarray(m.data)
  at_centre = np.array([mask[z_, y, x] for z_, y, x in np.rint(centres).astype(int)])
  assert (at_centre[ds.labels == 0] == 1).all()   # normal patches are centred in the liver
  # tumour ROIs are centred on the lesion's centroid in its largest slice: inside the liver, and
  # inside the tumour but for the odd irregular lesion (65 of 66 here)
  tumour = at_centre[ds.labels == 1]
  assert np.isin(tumour, (1, 2)).all() and np.mean(tumour == 2) >= 0.9, tumour


def _run(config, workdir, capsys):
  import launch
  rc = launch.run(config, workdir)
  return rc, capsys.readouterr()


def test_lits_tumour_vs_liver_classifier_and_gans(lits_npz, tmp_path, capsys):
  """Two arbitrary class names through the classifier, metrics, report and both GANs."""
  c = all_aug.get_config('smoke')
  c.data.source, c.data.path = 'npz', lits_npz
  c.arms = ('none', 'classic', 'dcgan', 'acgan')   # the real (oracle) arm needs the phantom
  c.folds = 2
  work = str(tmp_path / 'all')
  rc, out = _run(c, work, capsys)
  assert rc == 0, out.err[-2000:]
  results = json.load(open(os.path.join(work, 'results.json')))
  assert results['classes'] == ['liver', 'tumour']
  assert set(results['arms']) == {'none', 'classic', 'dcgan', 'acgan'}
  for arm in results['arms'].values():
    assert set(arm['sensitivity_per_class']) == {'liver', 'tumour'}
    assert sum(map(sum, arm['confusion'])) == sum(results['data']['class_counts'])
  report = open(os.path.join(work, 'report.md')).read()
  for name in ('liver', 'tumour'):   # a confusion-matrix row per class, for each of the 4 arms
    assert len(re.findall(rf'^\| {name} \| \d+ \| \d+ \|$', report, re.M)) == 4, name
  for kind in ('dcgan', 'acgan'):
    assert os.path.exists(os.path.join(work, 'figures', f'{kind}_fold0', 'tumour.png'))
    # both GAN arms scored by the same classic classifier of each fold
    fid = results['gan_fidelity'][kind]
    assert set(fid['per_class']) == {'liver', 'tumour'}
    assert [f['classifier'] for f in fid['folds']] == [
        f'classic_n{c.synthetic.classic_size}_seed0_fold{k}' for k in range(2)]
  assert (results['gan_fidelity']['dcgan']['folds'][0]['real_test'] ==
          results['gan_fidelity']['acgan']['folds'][0]['real_test'])


def test_realism_of_the_phantom_against_real_liver():
  """Real liver parenchyma squares from the LiTS volume against phantom parenchyma at the same
  (assumed 3 mm) spacing: real CT's level is the one measured on contrast-enhanced CT (0.72 after
  W350/L40); the statistics and the classifier's AUC come out, whatever the phantom's realism."""
  from liverjax.tools import realism
  img, lab = fetch_lits()
  out = realism.run(img, lab, 1, (3.0, 3.0, 3.0), 24.0, 18.0, 1)
  assert out['real']['n'] > 1000 and out['side_px'] == 8
  assert 0.65 < out['real']['mean'] < 0.8 and out['real']['noise_sd'] < 0.1
  assert out['other']['n'] == out['real']['n']
  assert 0.0 <= out['c2st']['auc'] <= 1.0
