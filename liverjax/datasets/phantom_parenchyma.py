"""Lesion-free parenchyma of the phantom, at any pixel spacing: to compare its texture with a
real CT's at that CT's own spacing (:mod:`liverjax.tools.realism`)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from liverjax.datasets import phantom
from liverjax.datasets.dataset import window_hu


def parenchyma_patches(n: int, side_mm: float, pixel_mm: float, seed: int = 0,
                       cfg: phantom.PhantomConfig = phantom.PhantomConfig()) -> np.ndarray:
  """Returns n windowed squares of lesion-free phantom parenchyma (n, k, k) in [0, 1], each
  side_mm wide: rendered as the ROIs' parenchyma is (vessels, scanner noise; a new patient each)
  at cfg.pixel_mm, then area-averaged to pixel_mm (as a coarser scanner grid integrates), so its
  texture can be compared with real CT at that CT's own spacing."""
  rng = np.random.default_rng(seed)
  n_px = int(round(side_mm / cfg.pixel_mm))
  k = max(2, int(round(side_mm / pixel_mm)))
  out = []
  for _ in range(n):
    liver_hu, vessel_hu = rng.uniform(95, 125), rng.uniform(170, 210)
    hu, vessels = phantom._parenchyma(rng, n_px, cfg.pixel_mm, liver_hu)
    hu = hu + (vessel_hu - liver_hu) * vessels
    hu = hu + phantom._correlated_noise(rng, (n_px, n_px), 0.7 / cfg.pixel_mm,
                                cfg.noise_hu * rng.uniform(0.7, 1.3))
    small = Image.fromarray(hu.astype(np.float32), mode='F').resize((k, k), Image.Resampling.BOX)
    out.append(window_hu(np.asarray(small), *cfg.window))
  return np.stack(out)
