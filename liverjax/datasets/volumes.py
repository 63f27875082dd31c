"""CT and mask volumes from files: NIfTI, a DICOM series folder, MRC, NumPy.

Reading (:func:`read_volume`) returns a float32 array indexed (slice, row, column) and the voxel
spacing in mm in the same order (None where the file does not store it):

- NIfTI ``.nii`` / ``.nii.gz`` (nibabel): reoriented to the closest canonical (RAS+) orientation
  first, so that slices are axial whatever the stored axis order, then transposed from (x, y, z)
  to (z, y, x). Spacing from the header's zooms. A mask's affine must match its volume's.
- A DICOM series folder (pydicom): every file in the folder is one slice of one series (a folder
  of several series is refused, naming them, unless one is picked by SeriesInstanceUID); slices
  are sorted along the slice normal (``ImagePositionPatient`` and ``ImageOrientationPatient``,
  else ``InstanceNumber``); values are ``RescaleSlope * stored + RescaleIntercept`` (HU; a CT
  slice without those tags is refused unless they are given). Spacing from ``PixelSpacing`` and
  the slice positions.
- MRC ``.mrc`` (mrcfile): stored (z, y, x) already; a voxel size of 0 means unknown.
- NumPy ``.npy``: one 3-D array (z, y, x), spacing unknown.

Where the spacing is unknown, 1 mm is assumed with a warning unless ``spacing`` is given.
Volumes and masks must have the same shape (the mask is read the same way and rounded to integers).
"""

from __future__ import annotations

import glob
import os

import numpy as np

from liverjax.base.errors import DataError

VOLUME_EXTENSIONS = ('.nii', '.nii.gz', '.mrc', '.npy')


def _ext(path: str) -> str:
  p = path.lower()
  return '.nii.gz' if p.endswith('.nii.gz') else os.path.splitext(p)[1]


def _cannot_read(path: str, e: Exception) -> DataError:
  return DataError(f'{path}: cannot read ({type(e).__name__}: {e})'.replace('\n', ' '))


def _read_nifti(path: str, max_bytes: int):
  import nibabel as nib
  try:
    img = nib.load(path)
    _check_size(path, img.shape, max_bytes)
    img = nib.as_closest_canonical(img)   # RAS+: the third axis runs foot to head (axial slices)
    arr = np.asarray(img.get_fdata(dtype=np.float32))
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
  except DataError:
    raise
  except Exception as e:   # nibabel raises many types for truncated or corrupt files
    raise _cannot_read(path, e) from e
  if arr.ndim == 4 and arr.shape[3] == 1:
    arr = arr[..., 0]
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  spacing = zooms[::-1] if all(z > 0 for z in zooms) else None
  return np.ascontiguousarray(arr.transpose(2, 1, 0)), spacing


def is_nifti(path: str) -> bool:
  return _ext(path) in ('.nii', '.nii.gz')


def nifti_affine(path: str) -> np.ndarray:
  """Returns the voxel-to-world affine of a NIfTI file after the reorientation that
  :func:`read_volume` applies (so that two files' affines compare voxel for voxel)."""
  import nibabel as nib
  try:
    return nib.as_closest_canonical(nib.load(path)).affine
  except Exception as e:
    raise _cannot_read(path, e) from e


def default_max_bytes() -> int:
  """Returns the largest volume read, in bytes of float32: $LIVERJAX_MAX_VOLUME_GB GiB if set,
  else half the machine's memory."""
  if os.environ.get('LIVERJAX_MAX_VOLUME_GB'):
    return int(float(os.environ['LIVERJAX_MAX_VOLUME_GB']) * 2 ** 30)
  return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2


def _check_size(path: str, shape, max_bytes: int) -> None:
  """Raises DataError if a volume of this (declared) shape would take more than max_bytes as
  float32, before anything is read."""
  need = 4 * int(np.prod([int(d) for d in shape], dtype=np.float64))
  if need > max_bytes:
    raise DataError(f'{path}: a volume of shape {tuple(int(d) for d in shape)} needs '
                    f'{need / 2 ** 30:.1f} GiB as float32, over the limit of '
                    f'{max_bytes / 2 ** 30:.1f} GiB (LIVERJAX_MAX_VOLUME_GB)')


def _read_mrc(path: str, max_bytes: int):
  import mrcfile
  try:
    with mrcfile.open(path, header_only=True, permissive=False) as m:
      h = m.header
      _check_size(path, (int(h.nz), int(h.ny), int(h.nx)), max_bytes)
    with mrcfile.open(path, permissive=False) as m:
      arr = np.asarray(m.data, np.float32).copy()
      vs = m.voxel_size
      spacing = (float(vs.z), float(vs.y), float(vs.x))
  except DataError:
    raise
  except Exception as e:
    raise _cannot_read(path, e) from e
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  return arr, spacing if all(s > 0 for s in spacing) else None


def _read_npy(path: str, max_bytes: int):
  try:
    with open(path, 'rb') as f:   # the header first: the declared shape
      version = np.lib.format.read_magic(f)
      read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                     else np.lib.format.read_array_header_2_0)
      shape, _, _ = read_header(f)
    _check_size(path, shape, max_bytes)
    arr = np.load(path, allow_pickle=False)
  except DataError:
    raise
  except Exception as e:
    raise _cannot_read(path, e) from e
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
    raise DataError(f'{path}: unsupported dtype {arr.dtype}')
  return arr.astype(np.float32), None


def _read_dicom_series(folder: str, rescale=None, series: str | None = None):
  """Reads a DICOM series folder (see the module docstring). CT slices must carry RescaleSlope
  and RescaleIntercept (HU = slope x stored + intercept) unless `rescale` = (slope, intercept)
  supplies them; a folder holding several series is refused unless `series` names one
  (SeriesInstanceUID)."""
  import pydicom
  files = sorted(f for f in os.listdir(folder) if not f.startswith('.'))
  if not files:
    raise DataError(f'{folder}: empty DICOM folder')
  slices = []
  for name in files:
    path = os.path.join(folder, name)
    if os.path.isdir(path):
      raise DataError(f'{path}: a DICOM series folder must hold only slice files')
    try:
      ds = pydicom.dcmread(path)
      pixels = ds.pixel_array.astype(np.float32)
    except Exception as e:
      raise _cannot_read(path, e) from e
    if pixels.ndim != 2:
      raise DataError(f'{path}: expected one 2-D slice per file, got shape {pixels.shape}')
    slices.append((ds, pixels, path))
  slices = _one_series(folder, slices, series)
  out = []
  for ds, pixels, path in slices:
    slope, intercept = getattr(ds, 'RescaleSlope', None), getattr(ds, 'RescaleIntercept', None)
    if rescale is not None:
      slope, intercept = rescale
    elif slope is None or intercept is None:
      if getattr(ds, 'Modality', '') == 'CT':
        raise DataError(f'{path}: CT slice without RescaleSlope/RescaleIntercept, so its HU are '
                        'unknown (stored unsigned CT needs an intercept of -1024); give them '
                        'with --dicom_rescale=slope,intercept')
      slope, intercept = 1.0, 0.0
    out.append((ds, pixels * float(slope) + float(intercept), path))
  slices = out
  shapes = {s[1].shape for s in slices}
  if len(shapes) > 1:
    raise DataError(f'{folder}: slices differ in size {sorted(shapes)}')
  ds0 = slices[0][0]
  orient = getattr(ds0, 'ImageOrientationPatient', None)
  if orient is not None and all(getattr(s[0], 'ImagePositionPatient', None) is not None
                                for s in slices):
    normal = np.cross(np.asarray(orient[:3], float), np.asarray(orient[3:], float))
    pos = np.asarray([float(np.dot(normal, np.asarray(s[0].ImagePositionPatient, float)))
                      for s in slices])
  else:
    pos = np.asarray([float(getattr(s[0], 'InstanceNumber', i)) for i, s in enumerate(slices)])
  order = np.argsort(pos, kind='stable')
  if len(np.unique(pos)) != len(pos):
    dup = [slices[i][2] for i in order[:-1][np.diff(pos[order]) == 0]]
    raise DataError(f'{dup[0]}: two slices at the same position (duplicate file?)')
  arr = np.stack([slices[i][1] for i in order])
  spacing = None
  ps = getattr(ds0, 'PixelSpacing', None)
  if ps is not None:
    dz = float(np.median(np.diff(pos[order]))) if len(pos) > 1 else float(
        getattr(ds0, 'SliceThickness', 0) or 0)
    if orient is None:   # positions are instance numbers: use the slice thickness
      dz = float(getattr(ds0, 'SpacingBetweenSlices', getattr(ds0, 'SliceThickness', 0)) or 0)
    if dz > 0:
      spacing = (dz, float(ps[0]), float(ps[1]))
  return arr, spacing


def _one_series(folder: str, slices: list, series: str | None) -> list:
  """Returns the slices of one series: all of them if they share one SeriesInstanceUID, those
  of `series` if given; raises DataError naming the series (and their slice counts) otherwise."""
  uids = [str(getattr(ds, 'SeriesInstanceUID', '')) for ds, _, _ in slices]
  counts = {u: uids.count(u) for u in dict.fromkeys(uids)}
  if series:
    if series not in counts:
      raise DataError(f'{folder}: no series {series} (it holds {_series_list(counts)})')
    return [s for s, u in zip(slices, uids) if u == series]
  if len(counts) > 1:
    raise DataError(f'{folder}: holds {len(counts)} series ({_series_list(counts)}); pick one '
                    'with --dicom_series=UID')
  return slices


def _series_list(counts: dict) -> str:
  return ', '.join(f'{u or "(no SeriesInstanceUID)"}: {n} slices' for u, n in counts.items())


def read_volume(path: str, dicom_rescale=None, dicom_series: str | None = None,
                max_bytes: int | None = None
                ) -> tuple[np.ndarray, tuple[float, float, float] | None]:
  """Returns (volume (slices, rows, cols) float32, spacing in mm or None) of a CT or mask file
  (DICOM options: :func:`_read_dicom_series`). A volume that would take more than max_bytes
  (default :func:`default_max_bytes`) is refused from its header, before it is read.

  Raises DataError naming the file for a missing path, an unknown format, a corrupt file, a shape
  that is not 3-D, or NaN/inf values.
  """
  if not os.path.exists(path):
    raise DataError(f'{path}: no such file or folder')
  max_bytes = default_max_bytes() if max_bytes is None else max_bytes
  if os.path.isdir(path):
    names = [os.path.join(path, f) for f in os.listdir(path) if not f.startswith('.')]
    stored = sum(os.path.getsize(f) for f in names if os.path.isfile(f))
    if 2 * stored > max_bytes:   # 16-bit slices become float32
      raise DataError(f'{path}: {stored / 2 ** 30:.1f} GiB of DICOM slices, over the limit of '
                      f'{max_bytes / 2 ** 30:.1f} GiB as float32 (LIVERJAX_MAX_VOLUME_GB)')
    arr, spacing = _read_dicom_series(path, dicom_rescale, dicom_series)
  else:
    ext = _ext(path)
    readers = {'.nii': _read_nifti, '.nii.gz': _read_nifti, '.mrc': _read_mrc, '.npy': _read_npy}
    if ext not in readers:
      raise DataError(f'{path}: not a volume (expected {", ".join(VOLUME_EXTENSIONS)} or a DICOM '
                      'series folder)')
    if not os.access(path, os.R_OK):
      raise DataError(f'{path}: not readable (permission denied)')
    arr, spacing = readers[ext](path, max_bytes)
  if not np.all(np.isfinite(arr)):
    raise DataError(f'{path}: contains NaN or inf values')
  if min(arr.shape) < 1:
    raise DataError(f'{path}: empty volume {arr.shape}')
  return arr, spacing


def patient_id(path: str) -> str:
  """Returns a patient id from a volume path: its file name without extension."""
  base = os.path.basename(os.path.normpath(path))
  for ext in VOLUME_EXTENSIONS:
    if base.lower().endswith(ext):
      return base[:-len(ext)]
  return base


def expand(paths) -> list[str]:
  """Returns the paths with shell-style globs expanded (sorted), in the given order otherwise."""
  out = []
  for p in paths:
    hits = sorted(glob.glob(p)) if any(ch in p for ch in '*?[') else [p]
    if not hits:
      raise DataError(f'{p}: no file matches')
    out.extend(hits)
  return out
