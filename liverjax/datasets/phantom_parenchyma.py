"""Lesion-free parenchyma of the phantom, at any pixel spacing: to compare its texture with a
real CT's at that CT's own spacing (:mod:`liverjax.tools.realism`)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from liverjax.datasets import phantom
from liverjax.datasets.dataset import window_hu


def parenchyma_patches(n: int, side_mm: float, pixel_mm: float, seed: int = 0,
                       cfg: phantom.PhantomConfig = phantom.PhantomConfig(),
                       resample: str = 'area') -> np.ndarray:
  """Returns n windowed squares of lesion-free phantom parenchyma (n, k, k) in [0, 1], each
  side_mm wide: rendered as the ROIs' parenchyma is (vessels, scanner noise; a new patient each)
  at cfg.pixel_mm, then brought to pixel_mm, so its texture can be compared with real CT at that
  CT's own spacing: resample='area' averages (as a coarser scanner grid integrates), 'point'
  keeps every (pixel_mm / cfg.pixel_mm)-th pixel (as a volume subsampled without smoothing)."""
  if resample not in ('area', 'point'):
    raise ValueError(f'resample={resample!r}: expected area or point')
  rng = np.random.default_rng(seed)
  n_px = int(round(side_mm / cfg.pixel_mm))
  k = max(2, int(round(side_mm / pixel_mm)))
  out = []
  for _ in range(n):
    patient = phantom.new_patient(rng, cfg)
    hu, vessels = phantom.background(rng, n_px, cfg, patient)
    hu = (hu + (patient['vessel_hu'] - patient['liver_hu']) * vessels
          + phantom.ct_noise(rng, n_px, cfg, patient))
    if resample == 'point':
      idx = np.minimum(((np.arange(k) + 0.5) * n_px / k).astype(int), n_px - 1)
      small = hu[np.ix_(idx, idx)]
    else:
      small = Image.fromarray(hu.astype(np.float32), mode='F').resize((k, k), Image.Resampling.BOX)
    out.append(window_hu(np.asarray(small), *cfg.window))
  return np.stack(out)
