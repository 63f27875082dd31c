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

from liverjax.datasets import dicom
from liverjax.datasets.dataset import DataError, reading

VOLUME_EXTENSIONS = ('.nii', '.nii.gz', '.mrc', '.npy')


def _ext(path: str) -> str:
  p = path.lower()
  return '.nii.gz' if p.endswith('.nii.gz') else os.path.splitext(p)[1]


def _read_nifti(path: str, max_bytes: int):
  import nibabel as nib
  with reading(path):
    img = nib.load(path)
    _check_size(path, img.shape, max_bytes)
    img = nib.as_closest_canonical(img)   # RAS+: the third axis runs foot to head (axial slices)
    arr = np.asarray(img.get_fdata(dtype=np.float32))
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
  if arr.ndim == 4 and arr.shape[3] == 1:
    arr = arr[..., 0]
  spacing = zooms[::-1] if all(z > 0 for z in zooms) else None
  return (np.ascontiguousarray(arr.transpose(2, 1, 0)) if arr.ndim == 3 else arr), spacing


def is_nifti(path: str) -> bool:
  return _ext(path) in ('.nii', '.nii.gz')


def nifti_affine(path: str) -> np.ndarray:
  """Returns the voxel-to-world affine of a NIfTI file after the reorientation that
  :func:`read_volume` applies (so that two files' affines compare voxel for voxel)."""
  import nibabel as nib
  with reading(path):
    return nib.as_closest_canonical(nib.load(path)).affine


def nifti_orientation(path: str) -> str:
  """Returns the axis codes of a NIfTI file's stored orientation (e.g. 'RAS', 'LPS')."""
  import nibabel as nib
  with reading(path):
    return ''.join(nib.aff2axcodes(nib.load(path).affine))


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
  with reading(path):
    with mrcfile.open(path, header_only=True, permissive=False) as m:
      h = m.header
      _check_size(path, (int(h.nz), int(h.ny), int(h.nx)), max_bytes)
    with mrcfile.open(path, permissive=False) as m:
      arr = np.asarray(m.data, np.float32).copy()
      vs = m.voxel_size
      spacing = (float(vs.z), float(vs.y), float(vs.x))
  return arr, spacing if all(s > 0 for s in spacing) else None


def _read_npy(path: str, max_bytes: int):
  with reading(path):
    with open(path, 'rb') as f:   # the header first: the declared shape
      version = np.lib.format.read_magic(f)
      read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                     else np.lib.format.read_array_header_2_0)
      shape, _, _ = read_header(f)
    _check_size(path, shape, max_bytes)
    arr = np.load(path, allow_pickle=False)
  if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
    raise DataError(f'{path}: unsupported dtype {arr.dtype}')
  return arr.astype(np.float32), None


def read_volume(path: str, dicom_rescale=None, dicom_series: str | None = None,
                max_bytes: int | None = None
                ) -> tuple[np.ndarray, tuple[float, float, float] | None]:
  """Returns (volume (slices, rows, cols) float32, spacing in mm or None) of a CT or mask file
  (DICOM options: :func:`liverjax.datasets.dicom.read_series`). A volume that would take more than max_bytes
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
    arr, spacing = dicom.read_series(path, dicom_rescale, dicom_series)
  else:
    ext = _ext(path)
    readers = {'.nii': _read_nifti, '.nii.gz': _read_nifti, '.mrc': _read_mrc, '.npy': _read_npy}
    if ext not in readers:
      raise DataError(f'{path}: not a volume (expected {", ".join(VOLUME_EXTENSIONS)} or a DICOM '
                      'series folder)')
    if not os.access(path, os.R_OK):
      raise DataError(f'{path}: not readable (permission denied)')
    arr, spacing = readers[ext](path, max_bytes)
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
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
