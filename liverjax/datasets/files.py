"""Users' ROI files: a folder of class folders, or one ``.npz``.

- ``folder``: ``root/<class_name>/*.png|*.npy`` (class folders sorted by name; >= 2 classes), with
  an optional ``root/groups.csv`` of ``file,group`` rows (file relative to root, e.g.
  ``cyst/a.png``) that must cover every image; without it each image is its own group. PNGs may
  be 8-bit or 16-bit grayscale (scaled by 255 or 65535); RGB(A), P and LA PNGs are converted to
  grayscale with a warning. ``.npy`` files hold one 2-D image (or H x W x 1): uint8/uint16 are
  scaled as PNGs, floats must already be in [0, 1] (window CT first).
- ``npz``: one file with ``images`` (N, H, W[, 1]), ``labels`` (N,), optional ``classes``,
  ``groups``, ``diameter_px``.

Both return a :class:`liverjax.datasets.dataset.Dataset` through the same checks
(:func:`~liverjax.datasets.dataset.from_arrays` for the npz, the same per-image conversion for
the folder).
"""

from __future__ import annotations

import csv
import logging
import os
import unicodedata

import numpy as np
from PIL import Image

from liverjax.datasets.dataset import (IMAGE_SIZE, DataError, Dataset, check_duplicates,
                                       from_arrays, reading, resize, to_unit)

IMAGE_EXTENSIONS = ('.png', '.npy')


def read_image(path: str) -> np.ndarray:
  """Returns one image file (.png or .npy) as a 64x64 float32 array in [0, 1]; raises DataError."""
  ext = os.path.splitext(path)[1].lower()
  with reading(path):   # PIL and numpy raise many types for truncated or corrupt files
    if ext == '.png':
      with Image.open(path) as im:
        im.load()
        if im.mode in ('RGB', 'RGBA', 'P', 'LA'):
          logging.warning('%s: %s image converted to grayscale', path, im.mode)
          im = im.convert('L')
        if im.mode in ('I;16', 'I;16B', 'I;16L'):
          arr = np.asarray(im).astype(np.uint16)
        elif im.mode == 'I':
          arr = np.asarray(im)
          if arr.min() < 0 or arr.max() > 65535:
            raise DataError(f'{path}: 32-bit PNG values outside [0, 65535]')
          arr = arr.astype(np.uint16)
        elif im.mode == 'L':
          arr = np.asarray(im)
        else:
          raise DataError(f'{path}: unsupported PNG mode {im.mode}')
    elif ext == '.npy':
      arr = np.load(path, allow_pickle=False)
    else:
      raise DataError(f'{path}: not an image file (expected {", ".join(IMAGE_EXTENSIONS)})')
  unit = to_unit(arr, path)   # checks the shape, dtype and range first
  _warn_if_suspicious(arr, path)
  return resize(unit)


def _warn_if_suspicious(arr: np.ndarray, path: str) -> None:
  """Logs a warning for a 16-bit image whose values all fit in 12 bits (CT stored in 16-bit
  PNG: scaled by 65535 its brightest pixel is dark) and for a non-square image (resizing it to
  64x64 changes its aspect ratio)."""
  if arr.dtype == np.uint16 and 0 < int(arr.max()) <= 4095:
    logging.warning('%s: 16-bit image with values up to %d (12-bit data?): scaled by 65535 its '
                    'brightest pixel is %.3f; window or rescale it to the full range first',
                    path, int(arr.max()), int(arr.max()) / 65535)
  h, w = arr.shape[:2]
  if h != w:
    logging.warning('%s: %dx%d image resized to %dx%d changes its aspect ratio (crop it square '
                    'around the lesion first)', path, h, w, IMAGE_SIZE, IMAGE_SIZE)


def load_folder(root: str) -> Dataset:
  """Returns the data set of a folder of class folders (see the module docstring)."""
  if not os.path.exists(root):
    raise DataError(f'{root}: no such folder')
  if not os.path.isdir(root):
    raise DataError(f'{root}: not a folder (data.source=folder expects root/<class_name>/*.png)')
  if not os.access(root, os.R_OK | os.X_OK):
    raise DataError(f'{root}: not readable (permission denied)')
  class_dirs = sorted(d for d in os.listdir(root)
                      if os.path.isdir(os.path.join(root, d)) and not d.startswith('.'))
  if not class_dirs:
    raise DataError(f'{root}: no class folders (expected root/<class_name>/*.png|*.npy)')
  if len(class_dirs) < 2:
    raise DataError(f'{root}: only one class folder ({class_dirs[0]}); need at least 2 classes')
  files, labels = [], []
  for label, cls in enumerate(class_dirs):
    names = sorted(f for f in os.listdir(os.path.join(root, cls)) if not f.startswith('.'))
    if not names:
      raise DataError(f'{os.path.join(root, cls)}: class folder has no images')
    for name in names:
      files.append(f'{cls}/{name}')
      labels.append(label)
  images = np.stack([read_image(os.path.join(root, f)) for f in files])[..., None]
  check_duplicates(images, [os.path.join(root, f) for f in files])
  groups = _read_groups(os.path.join(root, 'groups.csv'), files)
  return Dataset(images=images, labels=np.asarray(labels, np.int32), classes=tuple(class_dirs),
                 groups=groups, diameter_px=np.full(len(files), np.nan, np.float32),
                 source=f'folder:{root}')


def _nfc(name: str) -> str:
  return unicodedata.normalize('NFC', name)


def _read_groups(path: str, files: list[str]) -> np.ndarray:
  """Returns group ids per file from groups.csv (file,group), or one group per file if absent."""
  if not os.path.exists(path):
    logging.info('%s not found: each image is its own group', path)
    return np.arange(len(files), dtype=np.int64)
  try:
    with open(path, newline='', encoding='utf-8-sig') as f:   # a spreadsheet's byte-order mark
      rows = list(csv.reader(f))
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    raise DataError(f'{path}: cannot read ({e})') from e
  if rows and [c.strip().lower() for c in rows[0][:2]] == ['file', 'group']:
    rows = rows[1:]
  mapping = {}
  for i, row in enumerate(rows, start=1):
    if not row:
      continue
    if len(row) < 2:
      raise DataError(f'{path}: line {i} should be "file,group", got {row!r}')
    mapping[_nfc(row[0].strip())] = row[1].strip()
  files = [_nfc(f) for f in files]   # one Unicode form for names from the CSV and the disk
  unknown = sorted(set(mapping) - set(files))
  if unknown:
    raise DataError(f'{path}: names {len(unknown)} file(s) not in the data set, e.g. {unknown[0]}')
  missing = [f for f in files if f not in mapping]
  if missing:
    raise DataError(f'{path}: no group for {len(missing)} file(s), e.g. {missing[0]}')
  names = {g: k for k, g in enumerate(sorted(set(mapping.values())))}
  return np.asarray([names[mapping[f]] for f in files], np.int64)


def load_npz(path: str) -> Dataset:
  """Returns the data set stored in a .npz (images, labels[, classes, groups, diameter_px])."""
  if not os.path.exists(path):
    raise DataError(f'{path}: no such file')
  if not os.path.isfile(path):
    raise DataError(f'{path}: not a file (data.source=npz expects one .npz file)')
  try:
    with np.load(path, allow_pickle=False) as z:
      arrays = {k: z[k] for k in z.files}
  except Exception as e:
    raise DataError(f'{path}: cannot read .npz ({type(e).__name__}: {e})') from e
  return from_arrays(arrays, path, f'npz:{path}')
