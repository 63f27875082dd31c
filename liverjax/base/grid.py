"""PNG image grids of [0,1] grayscale images (for phantoms, samples and reports)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def make_grid(images: np.ndarray, ncol: int = 8, pad: int = 2, scale: int = 1) -> np.ndarray:
  """Returns a uint8 (H, W) mosaic of images (N, h, w[, 1]) in [0,1], row-major, a pad-pixel grey
  border around each tile, every pixel repeated scale x scale times."""
  images = np.asarray(images, np.float32)
  if images.ndim == 4:
    images = images[..., 0]
  n, h, w = images.shape
  ncol = max(1, min(ncol, n))
  nrow = -(-n // ncol)
  grid = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad), 0.5, np.float32)
  for i, img in enumerate(images):
    r, c = divmod(i, ncol)
    grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = img
  grid = np.clip(grid * 255.0 + 0.5, 0, 255).astype(np.uint8)
  if scale > 1:
    grid = np.kron(grid, np.ones((scale, scale), np.uint8))
  return grid


def split_grid(grid: np.ndarray, ncol: int, tile: int = 64, pad: int = 2) -> np.ndarray:
  """Returns the (N, tile, tile) float32 tiles in [0,1] of a uint8 grid that :func:`make_grid`
  wrote with ncol tiles a row and this pad (its whole scale read from the width), row-major;
  a last row's blank cells come back as grey tiles."""
  grid = np.asarray(grid)
  scale, rest = divmod(grid.shape[1], ncol * (tile + pad) + pad)
  nrow, rest_h = divmod(grid.shape[0] // max(scale, 1) - pad, tile + pad)
  if rest or rest_h or not scale or grid.shape[0] % scale:
    raise ValueError(f'a {grid.shape} image is not a grid of {ncol} {tile}-px tiles a row')
  grid = grid[::scale, ::scale]
  step = tile + pad
  return np.stack([grid[pad + r * step:pad + r * step + tile, pad + c * step:pad + c * step + tile]
                   for r in range(nrow) for c in range(ncol)]).astype(np.float32) / 255.0


def save_grid(path: str, images: np.ndarray, ncol: int = 8, scale: int = 1) -> str:
  """Writes a PNG grid of the images atomically (temp file + rename) from process 0 only, and
  returns the path."""
  import jax   # local: the rest of this module is plain NumPy
  if jax.process_index() != 0:
    return path
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}.png'
  Image.fromarray(make_grid(images, ncol=ncol, scale=scale)).save(tmp)
  os.replace(tmp, path)
  return path
