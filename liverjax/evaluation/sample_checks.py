"""Checks of a generator's samples against the real ROIs of their class, in pixel space:
diversity (a collapsed generator draws near-identical images) and grid artifacts (the
checkerboard and fine grid of strided transposed convolutions)."""

from __future__ import annotations

import numpy as np


def sample_diversity(images: np.ndarray, n: int = 128) -> float:
  """Returns the mean RMS difference between pairs of the first n images (0 = all identical)."""
  x = np.asarray(images[:n], np.float64).reshape(min(n, len(images)), -1)
  if len(x) < 2:
    return float('nan')
  sq = (x ** 2).sum(1)
  d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0) / x.shape[1]
  iu = np.triu_indices(len(x), 1)
  return float(np.sqrt(d2[iu]).mean())


def diversity_check(generated: np.ndarray, real: np.ndarray, threshold: float) -> dict:
  """Returns {'generated', 'real', 'ratio', 'threshold', 'collapsed'}: a generator whose samples
  differ from each other by less than threshold x as much as the real images do is collapsed."""
  g, r = sample_diversity(generated), sample_diversity(real)
  ratio = g / r if r > 0 else float('nan')
  return {'generated': round(g, 6), 'real': round(r, 6), 'ratio': round(ratio, 4),
          'threshold': threshold, 'collapsed': bool(ratio < threshold)}


def grid_share(images: np.ndarray, n: int = 256) -> float:
  """Returns the share of the first n images' spectral power (each image's mean removed) at
  spatial periods of 2 and 4 pixels along rows or columns: where the checkerboard and fine-grid
  artifacts of strided (transposed) convolutions sit. Natural-looking images have little there."""
  x = np.asarray(images[:n], np.float64)[..., 0]
  x = x - x.mean(axis=(1, 2), keepdims=True)
  power = (np.abs(np.fft.fft2(x)) ** 2).sum(0)
  fy, fx = np.abs(np.fft.fftfreq(x.shape[1])), np.abs(np.fft.fftfreq(x.shape[2]))
  grid_y, grid_x = np.isin(fy, (0.25, 0.5)), np.isin(fx, (0.25, 0.5))
  total = power.sum()
  return float(power[grid_y[:, None] | grid_x[None, :]].sum() / total) if total > 0 else 0.0


def grid_check(generated: np.ndarray, real: np.ndarray) -> dict:
  """Returns {'generated', 'real', 'ratio'} of :func:`grid_share`: ratio 1 = as grid-free as the
  real ROIs; larger = visible grid or checkerboard (a diagnostic, nothing is flagged)."""
  g, r = grid_share(generated), grid_share(real)
  return {'generated': round(g, 6), 'real': round(r, 6),
          'ratio': round(g / r, 3) if r > 0 else float('nan')}
