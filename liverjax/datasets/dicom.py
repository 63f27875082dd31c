"""A DICOM series folder -> a CT volume in HU, refusing what would be read wrong silently."""

from __future__ import annotations

import os

import numpy as np

from liverjax.datasets.dataset import DataError, reading


def read_series(folder: str, rescale=None, series: str | None = None):
  """Returns (volume (slices, rows, cols) float32 in HU, spacing in mm or None) of a DICOM series
  folder: every file one slice, sorted along the slice normal. CT slices must carry RescaleSlope
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
    with reading(path):
      ds = pydicom.dcmread(path)
      pixels = ds.pixel_array.astype(np.float32)
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
  shapes = [s[1].shape for s in slices]
  common = max(set(shapes), key=shapes.count)
  odd = next((s for s in slices if s[1].shape != common), None)
  if odd is not None:
    raise DataError(f'{odd[2]}: a slice of {odd[1].shape[1]} x {odd[1].shape[0]} pixels in a '
                    f'series of {common[1]} x {common[0]} ({shapes.count(common)} of '
                    f'{len(shapes)} slices)')
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
