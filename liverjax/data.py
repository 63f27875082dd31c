"""Data sets: the embedded phantom, users' folders and .npz files, TFDS; grouped k-fold splits.

Every loader returns a :class:`Dataset`: 64x64x1 float32 images in [0, 1], integer labels, class
names, group ids (patient or lesion: the unit that cross-validation keeps together) and each
lesion's diameter in image pixels (for the paper's translation bound; NaN where unknown, which the
augmentation reads as the default diameter). Malformed input raises :class:`DataError` whose
one-line message names the file and the problem.

Accepted inputs (``config.data.source``):
- ``phantom``: :mod:`liverjax.phantom`, seeded; no download.
- ``folder``: ``root/<class_name>/*.png|*.npy`` (class folders sorted by name; >= 2 classes), with
  an optional ``root/groups.csv`` of ``file,group`` rows (file relative to root, e.g.
  ``cyst/a.png``) that must cover every image; without it each image is its own group. PNGs may
  be 8-bit or 16-bit grayscale (scaled by 255 or 65535); RGB(A) is converted to grayscale with a
  warning. ``.npy`` files hold one 2-D image (or H x W x 1): uint8/uint16 are scaled as PNGs,
  floats must already be in [0, 1] (window CT first).
- ``npz``: one file with ``images`` (N, H, W[, 1]), ``labels`` (N,), optional ``classes``,
  ``groups``, ``diameter_px``.
- ``tfds``: a TFDS data set read through ``tfds.data_source`` (see :mod:`liverjax.tfds_data`).
Images of another size are resized to 64x64 (bicubic) and clipped to [0, 1]. Two identical images
(after conversion) are refused, naming both: a duplicate would leak between folds. CT volumes with
lesion masks become such a data set through :mod:`liverjax.ct`.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os

import numpy as np
from PIL import Image

IMAGE_SIZE = 64
MIN_SIZE = 8
IMAGE_EXTENSIONS = ('.png', '.npy')


class DataError(ValueError):
  """Malformed input data; the message names the file and the problem on one line."""


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


def resize(img: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
  """Returns a 2-D float image resized to size x size (bicubic) and clipped to [0, 1]."""
  img = np.asarray(img, np.float32)
  if img.shape != (size, size):
    img = np.asarray(Image.fromarray(img, mode='F').resize((size, size),
                                                           Image.Resampling.BICUBIC))
  return np.clip(img, 0.0, 1.0)


def _to_unit(arr: np.ndarray, path: str) -> np.ndarray:
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


def read_image(path: str) -> np.ndarray:
  """Returns one image file (.png or .npy) as a 64x64 float32 array in [0, 1]; raises DataError."""
  ext = os.path.splitext(path)[1].lower()
  try:
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
  except DataError:
    raise
  except Exception as e:  # PIL and numpy raise many types for truncated or corrupt files.
    raise DataError(f'{path}: cannot read ({type(e).__name__}: {e})'.replace('\n', ' ')) from e
  return resize(_to_unit(arr, path))


def check_duplicates(images: np.ndarray, names: list[str], where: str = '') -> None:
  """Raises DataError if two images are identical (a duplicate would leak between folds)."""
  import hashlib
  seen = {}
  for img, name in zip(images, names):
    h = hashlib.sha1(np.ascontiguousarray(img, np.float32).tobytes()).hexdigest()
    if h in seen:
      raise DataError(f'{where}{name}: identical to {seen[h]} (duplicate images would leak between '
                      'cross-validation folds; remove one)')
    seen[h] = name


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


def _read_groups(path: str, files: list[str]) -> np.ndarray:
  """Returns group ids per file from groups.csv (file,group), or one group per file if absent."""
  if not os.path.exists(path):
    logging.info('%s not found: each image is its own group', path)
    return np.arange(len(files), dtype=np.int64)
  try:
    with open(path, newline='') as f:
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
    mapping[row[0].strip()] = row[1].strip()
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
  for key in ('images', 'labels'):
    if key not in arrays:
      raise DataError(f'{path}: missing array "{key}" (has {sorted(arrays)})')
  images, labels = arrays['images'], arrays['labels']
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.ndim != 3:
    raise DataError(f'{path}: "images" must be (N, H, W) or (N, H, W, 1), got {images.shape}')
  n = images.shape[0]
  if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
    raise DataError(f'{path}: "labels" must be {n} integers, got {labels.dtype} {labels.shape}')
  if 'classes' in arrays:
    classes = tuple(str(c) for c in arrays['classes'])
  else:
    classes = tuple(str(c) for c in range(int(labels.max()) + 1 if n else 0))
  if len(classes) < 2:
    raise DataError(f'{path}: need at least 2 classes, got {len(classes)}')
  if n and (labels.min() < 0 or labels.max() >= len(classes)):
    raise DataError(f'{path}: labels span [{labels.min()}, {labels.max()}], outside the '
                    f'{len(classes)} classes {list(classes)}')
  if len(set(classes)) != len(classes):
    raise DataError(f'{path}: "classes" names a class twice: {list(classes)}')
  present = np.unique(labels)
  if len(present) < 2:
    raise DataError(f'{path}: only one class present in "labels"')
  empty = [c for k, c in enumerate(classes) if k not in present]
  if empty:
    raise DataError(f'{path}: no images labelled with class {empty[0]!r} of {list(classes)}')
  out = np.stack([resize(_to_unit(images[i], f'{path}: images[{i}]')) for i in range(n)])
  check_duplicates(out, [f'images[{i}]' for i in range(n)], where=f'{path}: ')
  groups = arrays.get('groups', np.arange(n))
  if groups.shape != (n,):
    raise DataError(f'{path}: "groups" must have shape ({n},), got {groups.shape}')
  diam = arrays.get('diameter_px', np.full(n, np.nan)).astype(np.float32)
  if diam.shape != (n,):
    raise DataError(f'{path}: "diameter_px" must have shape ({n},), got {diam.shape}')
  _, group_ids = np.unique(groups, return_inverse=True)
  return Dataset(images=out[..., None], labels=labels.astype(np.int32), classes=classes,
                 groups=group_ids.astype(np.int64), diameter_px=diam, source=f'npz:{path}')


def save_npz(path: str, ds: Dataset, **extra) -> str:
  """Writes a data set as .npz (readable by load_npz) atomically, with any extra arrays (which
  load_npz ignores); returns the path."""
  tmp = f'{path}.tmp{os.getpid()}.npz'
  np.savez_compressed(tmp, images=ds.images, labels=ds.labels, classes=np.asarray(ds.classes),
                      groups=ds.groups, diameter_px=ds.diameter_px, **extra)
  os.replace(tmp, path)
  return path


def load_phantom(counts=None, seed: int = 0, noise_hu: float = 18.0, contrast: float = 1.0,
                 overlap: float = 0.25) -> Dataset:
  """Returns the embedded procedural phantom (groups = patients)."""
  from liverjax import phantom  # local: building the phantom is only needed for this source.
  kw = dict(seed=seed, noise_hu=noise_hu, contrast=contrast, overlap=overlap)
  if counts:
    kw['counts'] = tuple(counts)
  d = phantom.make_phantom(phantom.PhantomConfig(**kw))
  return Dataset(images=d['images'], labels=d['labels'], classes=tuple(str(c) for c in
                 d['classes']), groups=d['groups'].astype(np.int64), diameter_px=d['diameter_px'],
                 source=f'phantom(seed={seed})')


def load(cfg) -> Dataset:
  """Returns the data set that config.data names (source = phantom | folder | npz | tfds)."""
  src = cfg.source
  if src == 'phantom':
    p = cfg.phantom
    return load_phantom(p.counts, p.seed, p.noise_hu, p.contrast, p.overlap)
  if src in ('folder', 'npz', 'tfds') and not cfg.path:
    raise DataError(f'config.data.path is empty; data.source={src} needs a path')
  if src == 'folder':
    return load_folder(cfg.path)
  if src == 'npz':
    return load_npz(cfg.path)
  if src == 'tfds':
    from liverjax import tfds_data  # local: imports tensorflow_datasets (slow).
    return tfds_data.load(cfg.path, data_dir=cfg.get('tfds_data_dir') or None)
  raise DataError(f'config.data.source={src!r}: expected phantom, folder, npz or tfds')


def stratified_group_kfold(labels: np.ndarray, groups: np.ndarray, k: int = 3,
                           seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
  """Returns k (train_idx, test_idx) pairs; every group lies in exactly one test fold.

  Greedy, as scikit-learn's StratifiedGroupKFold: groups in random order, largest first, each goes
  to the fold whose class proportions it disturbs least (ties: the smaller fold).
  """
  labels, groups = np.asarray(labels), np.asarray(groups)
  uniq, inv = np.unique(groups, return_inverse=True)
  n_classes = int(labels.max()) + 1
  if len(uniq) < k:
    raise DataError(f'only {len(uniq)} groups: cannot make {k} folds')
  counts = np.zeros((len(uniq), n_classes))
  np.add.at(counts, (inv, labels), 1)
  totals = counts.sum(0)
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(uniq))
  order = order[np.argsort(-counts[order].std(1) - 1e3 * counts[order].sum(1), kind='stable')]
  fold_counts = np.zeros((k, n_classes))
  assign = np.empty(len(uniq), np.int64)
  for g in order:
    best, best_score = 0, None
    for f in range(k):
      fc = fold_counts.copy()
      fc[f] += counts[g]
      score = (np.std(fc / np.maximum(totals, 1), axis=0).mean(), fc[f].sum())
      if best_score is None or score < best_score:
        best, best_score = f, score
    assign[g] = best
    fold_counts[best] += counts[g]
  fold_of_image = assign[inv]
  return [(np.flatnonzero(fold_of_image != f), np.flatnonzero(fold_of_image == f))
          for f in range(k)]
