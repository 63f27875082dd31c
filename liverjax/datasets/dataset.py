"""The data set every stage works on, and the checks every loader's input goes through.

A :class:`Dataset` holds 64x64x1 float32 images in [0, 1], integer labels, class names, group ids
(patient or lesion: the unit that cross-validation keeps together) and each lesion's diameter in
image pixels (for the paper's translation bound; NaN where unknown, which the augmentation reads as
the default diameter). Malformed input raises :class:`DataError` whose one-line message names the
file and the problem. Images of another size are resized to 64x64 (bicubic) and clipped to
[0, 1]; two identical images are refused, naming both: a duplicate would leak between folds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os

import numpy as np
from PIL import Image

from liverjax.base.errors import DataError

IMAGE_SIZE = 64
MIN_SIZE = 8


@dataclasses.dataclass
class Dataset:
  """A labelled set of ROIs (all arrays share the leading axis N)."""
  images: np.ndarray        # (N, 64, 64, 1) float32 in [0, 1]
  labels: np.ndarray        # (N,) int32 in [0, len(classes))
  classes: tuple[str, ...]
  groups: np.ndarray        # (N,) int64: images of one group never straddle folds
  diameter_px: np.ndarray   # (N,) float32 lesion diameter in pixels, NaN if unknown
  source: str = ''

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, idx: np.ndarray) -> 'Dataset':
    """Returns the data set restricted to the given indices."""
    return dataclasses.replace(self, images=self.images[idx], labels=self.labels[idx],
                               groups=self.groups[idx], diameter_px=self.diameter_px[idx])

  def class_counts(self) -> list[int]:
    """Returns the number of images per class."""
    return np.bincount(self.labels, minlength=len(self.classes)).tolist()


def window_hu(hu: np.ndarray, width: float = 350.0, level: float = 40.0) -> np.ndarray:
  """Returns CT values windowed to [0, 1] (clipped outside [level - width/2, level + width/2])."""
  lo = level - width / 2.0
  return np.clip((hu - lo) / width, 0.0, 1.0).astype(np.float32)


@contextlib.contextmanager
def reading(path: str):
  """Turns what a reader raises for a truncated or corrupt file (many types) into a DataError
  naming the file."""
  try:
    yield
  except DataError:
    raise
  except Exception as e:
    raise DataError(f'{path}: cannot read ({type(e).__name__}: {e})'.replace('\n', ' ')) from e


def resize(img: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
  """Returns a 2-D float image resized to size x size (bicubic) and clipped to [0, 1]."""
  img = np.asarray(img, np.float32)
  if img.shape != (size, size):
    img = np.asarray(Image.fromarray(img, mode='F').resize((size, size),
                                                           Image.Resampling.BICUBIC))
  return np.clip(img, 0.0, 1.0)


def to_unit(arr: np.ndarray, path: str) -> np.ndarray:
  """Returns a 2-D float32 image in [0, 1] from an integer or float array; raises DataError."""
  if arr.ndim == 3 and arr.shape[-1] == 1:
    arr = arr[..., 0]
  if arr.ndim != 2:
    raise DataError(f'{path}: expected a 2-D grayscale image, got shape {arr.shape}')
  if min(arr.shape) < MIN_SIZE:
    raise DataError(f'{path}: image is {arr.shape[0]}x{arr.shape[1]}, smaller than '
                    f'{MIN_SIZE}x{MIN_SIZE}')
  if arr.dtype == np.uint8:
    return arr.astype(np.float32) / 255.0
  if arr.dtype == np.uint16:
    return arr.astype(np.float32) / 65535.0
  if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.floating):
    raise DataError(f'{path}: unsupported dtype {arr.dtype} (use uint8, uint16 or float in [0,1])')
  arr = arr.astype(np.float32)
  if not np.all(np.isfinite(arr)):
    raise DataError(f'{path}: contains NaN or inf values')
  lo, hi = float(arr.min()), float(arr.max())
  if lo < 0.0 or hi > 1.0:
    raise DataError(f'{path}: float values span [{lo:.4g}, {hi:.4g}], expected [0, 1] '
                    '(window CT intensities first, e.g. liverjax.phantom.window_hu)')
  return arr


def check_duplicates(images: np.ndarray, names: list[str], where: str = '') -> None:
  """Raises DataError if two images are identical (a duplicate would leak between folds)."""
  seen = {}
  for img, name in zip(images, names):
    h = hashlib.sha1(np.ascontiguousarray(img, np.float32).tobytes()).hexdigest()
    if h in seen:
      raise DataError(f'{where}{name}: identical to {seen[h]} (duplicate images would leak between '
                      'cross-validation folds; remove one)')
    seen[h] = name


def from_arrays(arrays: dict, where: str, source: str) -> Dataset:
  """Returns the data set of arrays {'images' (N, H, W[, 1]), 'labels' (N,)[, 'classes',
  'groups', 'diameter_px']}, validated as every loader's input is; raises DataError naming
  `where` (a file or data set name) and the problem."""
  for key in ('images', 'labels'):
    if key not in arrays:
      raise DataError(f'{where}: missing array "{key}" (has {sorted(arrays)})')
  images, labels = arrays['images'], arrays['labels']
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.ndim != 3:
    raise DataError(f'{where}: "images" must be (N, H, W) or (N, H, W, 1), got {images.shape}')
  n = images.shape[0]
  if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
    raise DataError(f'{where}: "labels" must be {n} integers, got {labels.dtype} {labels.shape}')
  if 'classes' in arrays:
    classes = tuple(c.decode('utf-8') if isinstance(c, bytes) else str(c)
                    for c in arrays['classes'].tolist())
  else:
    classes = tuple(str(c) for c in range(int(labels.max()) + 1 if n else 0))
  if len(classes) < 2:
    raise DataError(f'{where}: need at least 2 classes, got {len(classes)}')
  if n and (labels.min() < 0 or labels.max() >= len(classes)):
    raise DataError(f'{where}: labels span [{labels.min()}, {labels.max()}], outside the '
                    f'{len(classes)} classes {list(classes)}')
  if len(set(classes)) != len(classes):
    raise DataError(f'{where}: "classes" names a class twice: {list(classes)}')
  present = np.unique(labels)
  if len(present) < 2:
    raise DataError(f'{where}: only one class present in "labels"')
  empty = [c for k, c in enumerate(classes) if k not in present]
  if empty:
    raise DataError(f'{where}: no images labelled with class {empty[0]!r} of {list(classes)}')
  out = np.stack([resize(to_unit(images[i], f'{where}: images[{i}]')) for i in range(n)])
  check_duplicates(out, [f'images[{i}]' for i in range(n)], where=f'{where}: ')
  groups = arrays.get('groups', np.arange(n))
  if groups.shape != (n,):
    raise DataError(f'{where}: "groups" must have shape ({n},), got {groups.shape}')
  diam = np.asarray(arrays.get('diameter_px', np.full(n, np.nan)))
  if not (np.issubdtype(diam.dtype, np.number) or diam.dtype == np.bool_):
    raise DataError(f'{where}: "diameter_px" must be numbers (pixels), got {diam.dtype}')
  diam = diam.astype(np.float32)
  if diam.shape != (n,):
    raise DataError(f'{where}: "diameter_px" must have shape ({n},), got {diam.shape}')
  _, group_ids = np.unique(groups, return_inverse=True)
  return Dataset(images=out[..., None], labels=labels.astype(np.int32), classes=classes,
                 groups=group_ids.astype(np.int64), diameter_px=diam, source=source)


def save_npz(path: str, ds: Dataset, **extra) -> str:
  """Writes a data set as .npz (readable by load_npz) atomically, with any extra arrays (which
  load_npz ignores); returns the path."""
  tmp = f'{path}.tmp{os.getpid()}.npz'
  np.savez_compressed(tmp, images=ds.images, labels=ds.labels, classes=np.asarray(ds.classes),
                      groups=ds.groups, diameter_px=ds.diameter_px, **extra)
  os.replace(tmp, path)
  return path
