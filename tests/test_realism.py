"""Texture statistics of parenchyma patches, on textures with known answers."""

import numpy as np
import pytest

from liverjax.datasets import phantom_parenchyma
from liverjax.evaluation import realism


def _noise(rng, n, k=16, sd=0.05, blur=0):
  x = rng.normal(0.0, 1.0, (n, k + 2 * blur, k + 2 * blur))
  if blur:   # a moving average over 2 * blur + 1 pixels along rows and columns
    w = 2 * blur + 1
    c = np.cumsum(np.pad(x, ((0, 0), (1, 0), (1, 0))), 1).cumsum(2)
    x = (c[:, w:, w:] - c[:, :-w, w:] - c[:, w:, :-w] + c[:, :-w, :-w])[:, :k, :k]
  return 0.5 + sd * x / x.std()


def test_white_and_smooth_noise():
  rng = np.random.default_rng(0)
  white = realism.texture_stats(_noise(rng, 400))
  # neighbour differences of independent pixels: SD sqrt(2) sd; autocorrelation 0 (less the
  # 1/k^2 bias of each patch's own mean), 400 x 16 x 15 products: SD about 0.004
  assert white['noise_sd'] == pytest.approx(0.05, rel=0.05)
  assert all(abs(v) < 0.02 for v in white['autocorrelation'].values()), white
  assert white['mean'] == pytest.approx(0.5, abs=0.005) and white['saturated'] == 0.0
  smooth = realism.texture_stats(_noise(rng, 400, blur=2))
  assert smooth['autocorrelation']['1'] > 0.6 > smooth['autocorrelation']['5']
  assert smooth['noise_sd'] < 0.5 * white['noise_sd']
  clipped = realism.texture_stats(np.clip(_noise(rng, 50, sd=0.5), 0, 1))
  assert 0.1 < clipped['saturated'] < 0.5


def test_a_classifier_tells_textures_apart_only_when_they_differ():
  rng = np.random.default_rng(1)
  same = realism.compare(_noise(rng, 120), _noise(rng, 120))
  lo, hi = same['c2st']['ci95']
  assert lo <= 0.5 <= hi, same['c2st']
  differ = realism.compare(_noise(rng, 120), _noise(rng, 120, blur=2))
  assert differ['c2st']['auc'] > 0.9, differ['c2st']


def test_phantom_parenchyma_at_a_coarser_spacing():
  fine = phantom_parenchyma.parenchyma_patches(4, 24.0, 0.75, seed=3)
  coarse = phantom_parenchyma.parenchyma_patches(4, 24.0, 3.0, seed=3)
  assert fine.shape == (4, 32, 32) and coarse.shape == (4, 8, 8)
  # area averaging: the same patients, the same mean level; neighbours 3 mm apart are less
  # alike than neighbours 0.75 mm apart
  np.testing.assert_allclose(coarse.mean((1, 2)), fine.mean((1, 2)), atol=0.01)
  acf = lambda p: realism.texture_stats(p)['autocorrelation']['1']
  assert acf(coarse) < acf(fine) - 0.1


def test_point_sampling_keeps_the_fine_noise_that_area_averaging_removes():
  """The same patients brought to 3 mm: every 4th pixel keeps the 0.75 mm grain, so it is noisier
  and less correlated between neighbours than the area average; the mean level is the same."""
  area = phantom_parenchyma.parenchyma_patches(40, 24.0, 3.0, seed=3, resample='area')
  point = phantom_parenchyma.parenchyma_patches(40, 24.0, 3.0, seed=3, resample='point')
  assert area.shape == point.shape == (40, 8, 8)
  sa, sp = realism.texture_stats(area), realism.texture_stats(point)
  assert sp['noise_sd'] > sa['noise_sd'], (sp['noise_sd'], sa['noise_sd'])
  assert sp['autocorrelation']['1'] < sa['autocorrelation']['1']
  np.testing.assert_allclose(sp['mean'], sa['mean'], atol=0.01)
  with pytest.raises(ValueError, match='resample'):
    phantom_parenchyma.parenchyma_patches(1, 24.0, 3.0, resample='nearest')
