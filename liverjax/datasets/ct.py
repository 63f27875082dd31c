"""CT volumes + lesion masks -> a data set of 64x64 lesion ROIs (and optional normal-liver patches).

Extraction (:func:`extract`): the voxels whose mask value is in ``lesion_labels`` are split into 3-D
connected components (26-connectivity), smaller than ``min_voxels`` dropped. For each lesion, one
ROI per axial slice it touches (``slices='all'``) or only on its largest slice
(``slices='largest'``): a square centred on the lesion's centroid in that slice, of side
max(``min_side_mm``, ``context`` x the lesion's in-plane extent) in mm, cropped (edge-padded at the
volume border), windowed (default W350/L40 HU -> [0, 1]) and resized to 64x64 (bicubic), as
:func:`liverjax.datasets.dataset.resize`. Lesion classes come from a rule table
(:func:`read_class_table`) or one fixed class. Optional normal-liver patches (``normal_per_volume``)
are squares of ``min_side_mm`` centred inside the liver mask whose in-plane square holds no lesion
voxel, at least one side apart from each other in 3-D (so no two overlap).

Groups: each ROI records its patient (volume) and lesion (component, or normal site); the data set's
``groups`` are one of them (``group_by``). Patient grouping is what the paper did; with a single
volume only lesion grouping can make folds (slices of one lesion always stay together).

Volumes are read by :mod:`liverjax.datasets.volumes`; command line: ``python -m
liverjax.tools.ct_rois`` (see that module).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import os

import numpy as np
from scipy import ndimage

from liverjax.datasets import dataset
from liverjax.datasets.dataset import DataError
from liverjax.datasets.roi_sets import ROISet
from liverjax.datasets import volumes as volume_files
from liverjax.datasets.volumes import expand, patient_id, read_volume


@dataclasses.dataclass
class ClassRule:
  """One row of the class table: which lesions get which class (empty fields match anything)."""
  volume: str      # volume file name or patient id ('' = any)
  label: int | None      # mask value of the lesion (None = any lesion label)
  component: int | None  # connected-component number as listed by extract (None = any)
  cls: str


def read_class_table(path: str) -> list[ClassRule]:
  """Returns the rules of a CSV with header ``volume,class[,label][,component]``.

  Each lesion takes the class of the first row that matches it: ``volume`` is the volume's file
  name (e.g. ``case01.nii.gz``) or its patient id, ``label`` the lesion's mask value, ``component``
  its number (1, 2, ... in the order :func:`extract` lists them, largest first); empty or ``*``
  matches anything.
  """
  if not os.path.isfile(path):
    raise DataError(f'{path}: no such file')
  try:
    with open(path, newline='') as f:
      rows = list(csv.DictReader(f))
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    raise DataError(f'{path}: cannot read ({e})') from e
  if not rows or 'volume' not in rows[0] or 'class' not in rows[0]:
    raise DataError(f'{path}: expected a header "volume,class[,label][,component]" and rows')
  rules = []
  for i, row in enumerate(rows, start=2):
    def num(key):
      v = (row.get(key) or '').strip()
      if v in ('', '*'):
        return None
      try:
        return int(v)
      except ValueError:
        raise DataError(f'{path}: line {i}: {key} must be an integer, got {v!r}') from None
    cls = (row.get('class') or '').strip()
    if not cls:
      raise DataError(f'{path}: line {i}: empty class')
    vol = (row.get('volume') or '').strip()
    rules.append(ClassRule('' if vol == '*' else vol, num('label'), num('component'), cls))
  return rules


def crop_square(slice2d: np.ndarray, cy: float, cx: float, side_y: float, side_x: float,
                size: int = dataset.IMAGE_SIZE) -> np.ndarray:
  """Returns the (side_y x side_x pixel) box centred at (cy, cx), edge-padded, resized to size."""
  hy, hx = max(int(round(side_y / 2)), 1), max(int(round(side_x / 2)), 1)
  y0, x0 = int(round(cy)) - hy, int(round(cx)) - hx
  pad = max(0, -y0, -x0, y0 + 2 * hy - slice2d.shape[0], x0 + 2 * hx - slice2d.shape[1])
  padded = np.pad(slice2d, pad, mode='edge') if pad else slice2d
  box = padded[y0 + pad:y0 + pad + 2 * hy, x0 + pad:x0 + pad + 2 * hx]
  return dataset.resize(box, size)


def _class_of(rules, fixed_class, volume_name, patient, label, comp) -> str | None:
  if rules is None:
    return fixed_class
  for r in rules:
    if r.volume and r.volume not in (volume_name, patient):
      continue
    if r.label is not None and r.label != label:
      continue
    if r.component is not None and r.component != comp:
      continue
    return r.cls
  return None


def extract(volume: np.ndarray, mask: np.ndarray, spacing=None, *, patient: str = 'p0',
            volume_name: str = '', lesion_labels=(2,), liver_label: int | None = 1,
            rules: list[ClassRule] | None = None, fixed_class: str = 'lesion',
            slices: str = 'all', min_side_mm: float = 24.0, context: float = 1.5,
            min_voxels: int = 10, window_hu=(350.0, 40.0), normal_per_volume: int = 0,
            normal_class: str = 'liver', seed: int = 0, mask_name: str = 'mask') -> ROISet:
  """Returns the ROIs of one volume (see the module docstring). Raises DataError for bad input."""
  name = volume_name or patient
  if volume.shape != mask.shape:
    raise DataError(f'{mask_name}: mask shape {mask.shape} differs from volume shape '
                    f'{volume.shape} ({name})')
  if slices not in ('largest', 'all'):
    raise DataError(f'slices={slices!r}: expected "largest" or "all"')
  mask = np.rint(mask).astype(np.int64)
  sz, sy, sx = (float(s) for s in (spacing or (1.0, 1.0, 1.0)))
  out = ROISet()
  struct = np.ones((3, 3, 3), bool)
  lesion_any = np.isin(mask, list(lesion_labels))
  if not lesion_any.any():
    raise DataError(f'{mask_name}: no lesion voxels (mask values {list(lesion_labels)}; the mask '
                    f'holds {np.unique(mask).tolist()[:10]})')
  comps = []   # (label, voxel indices)
  for lab in lesion_labels:
    cc, n = ndimage.label(mask == lab, structure=struct)
    if n == 0:
      continue
    objects = ndimage.find_objects(cc)
    for k in range(1, n + 1):
      sl = objects[k - 1]
      idx = np.argwhere(cc[sl] == k) + np.asarray([s.start for s in sl])
      if len(idx) >= min_voxels:
        comps.append((lab, idx))
  comps.sort(key=lambda c: (-len(c[1]), c[0], tuple(c[1][0])))   # largest first, deterministic
  if not comps:
    raise DataError(f'{mask_name}: no lesion of at least {min_voxels} voxels ({name})')
  win = lambda a: dataset.window_hu(a, *window_hu)
  for num, (lab, idx) in enumerate(comps, start=1):
    cls = _class_of(rules, fixed_class, volume_name, patient, lab, num)
    lesion_id = f'{patient}/c{num}'
    out.listing.append({'patient': patient, 'volume': volume_name, 'lesion': lesion_id,
                        'label': int(lab), 'component': num, 'voxels': int(len(idx)),
                        'class': cls or ''})
    if cls is None:
      raise DataError(f'{volume_name or patient}: lesion {num} (mask value {lab}, {len(idx)} '
                      'voxels) matches no row of the class table')
    zs = np.unique(idx[:, 0])
    if slices == 'largest':
      areas = np.bincount(idx[:, 0] - zs[0])
      zs = [zs[0] + int(np.argmax(areas))]
    for z in zs:
      pts = idx[idx[:, 0] == z][:, 1:]
      cy, cx = pts.mean(0)
      ext_mm = max((np.ptp(pts[:, 0]) + 1) * sy, (np.ptp(pts[:, 1]) + 1) * sx)
      side_mm = max(min_side_mm, context * ext_mm)
      out.images.append(crop_square(win(volume[z]), cy, cx, side_mm / sy, side_mm / sx))
      out.classes.append(cls)
      out.patients.append(patient)
      out.lesions.append(lesion_id)
      out.slices.append(int(z))
      out.centres.append((int(z), float(cy), float(cx)))
      out.diameter_px.append(float(ext_mm / side_mm * dataset.IMAGE_SIZE))
  if normal_per_volume:
    out.extend(_normal_patches(volume, mask, lesion_any, (sz, sy, sx), patient, liver_label,
                               normal_per_volume, normal_class, min_side_mm, win, seed, name))
  return out


def _normal_patches(volume, mask, lesion_any, spacing, patient, liver_label, n, cls, side_mm,
                    win, seed, name) -> ROISet:
  """Returns up to n patches centred in the liver whose square holds no lesion voxel."""
  if liver_label is None:
    raise DataError('normal-liver patches need the liver label of the mask (liver_label)')
  sz, sy, sx = spacing
  hy, hx = max(int(round(side_mm / sy / 2)), 1), max(int(round(side_mm / sx / 2)), 1)
  # A centre is allowed if the in-plane square around it holds no lesion voxel.
  near_lesion = ndimage.maximum_filter(lesion_any, size=(1, 2 * hy + 1, 2 * hx + 1))
  allowed = (mask == liver_label) & ~near_lesion
  cand = np.argwhere(allowed)
  out = ROISet()
  if len(cand) == 0:
    logging.warning('%s: no liver voxel far enough from every lesion for a normal patch', name)
    return out
  rng = np.random.default_rng(seed)
  chosen = []
  for i in rng.permutation(len(cand)):
    c = cand[i] * np.asarray([sz, sy, sx])
    if all(np.max(np.abs(c - d)) >= side_mm for d in chosen):   # squares never overlap in 3-D
      chosen.append(c)
      z, y, x = cand[i]
      out.images.append(crop_square(win(volume[z]), y, x, 2 * hy, 2 * hx))
      out.classes.append(cls)
      out.patients.append(patient)
      out.lesions.append(f'{patient}/n{len(chosen)}')
      out.slices.append(int(z))
      out.centres.append((int(z), float(y), float(x)))
      out.diameter_px.append(float('nan'))
      out.listing.append({'patient': patient, 'volume': '', 'lesion': f'{patient}/n{len(chosen)}',
                          'label': int(liver_label), 'component': 0, 'voxels': 0, 'class': cls})
      if len(chosen) == n:
        break
  if len(chosen) < n:
    logging.warning('%s: only %d of %d normal-liver patches fit', name, len(chosen), n)
  return out


def _check_aligned(volume: str, mask: str, reorient_mask: bool = False) -> None:
  """Raises DataError if a NIfTI mask's voxels do not sit where its NIfTI volume's do, or if
  it is stored in another orientation (a mirrored axis: a common export bug; reorient_mask trusts
  both affines, with a warning)."""
  if not all(volume_files.is_nifti(p) for p in (volume, mask)):
    return
  a_codes, b_codes = (volume_files.nifti_orientation(p) for p in (volume, mask))
  if a_codes != b_codes:
    if not reorient_mask:
      raise DataError(f'{mask}: stored as {b_codes}, its volume {volume} as {a_codes}: a mask '
                      'exported with a wrong affine would move every ROI (--reorient_mask)')
    logging.warning('%s: stored as %s, its volume as %s; reoriented (--reorient_mask)', mask,
                    b_codes, a_codes)
  a, b = volume_files.nifti_affine(volume), volume_files.nifti_affine(mask)
  if not np.allclose(a, b, rtol=1e-5, atol=1e-3):
    raise DataError(f'{mask}: its affine differs from {volume}\'s by up to '
                    f'{np.abs(a - b).max():.3g} (mm): the mask is not aligned with its volume')


def extract_volumes(volumes, masks, *, spacing=None, class_table: str = '', seed: int = 0,
                    dicom_rescale=None, dicom_series: str | None = None,
                    reorient_mask: bool = False, **kw) -> ROISet:
  """Reads each (volume, mask) pair and returns all their ROIs (kw: see :func:`extract`;
  spacing: (z, y, x) mm for volumes that store none; dicom_*: see
  :func:`liverjax.datasets.volumes.read_volume`)."""
  if spacing is not None and (len(spacing) != 3 or not all(float(v) > 0 for v in spacing)):
    raise DataError(f'spacing {list(spacing)}: expected three positive values z,y,x in mm')
  volumes, masks = expand(volumes), expand(masks)
  if not volumes:
    raise DataError('no volumes given')
  if len(volumes) != len(masks):
    raise DataError(f'{len(volumes)} volumes but {len(masks)} masks: give one mask per volume')
  rules = read_class_table(class_table) if class_table else None
  patients = [patient_id(v) for v in volumes]
  if len(set(patients)) != len(patients):
    dup = next(p for p in patients if patients.count(p) > 1)
    raise DataError(f'two volumes named {dup!r}: patient ids (file names) must be unique')
  rois = ROISet()
  for i, (vpath, mpath) in enumerate(zip(volumes, masks)):
    vol, sp = read_volume(vpath, dicom_rescale, dicom_series)
    mask, _ = read_volume(mpath)
    _check_aligned(vpath, mpath, reorient_mask)
    if spacing is None and sp is None:
      logging.warning('%s: voxel spacing unknown; assuming 1 mm (pass spacing)', vpath)
    rois.extend(extract(vol, mask, spacing or sp, patient=patients[i],
                        volume_name=os.path.basename(os.path.normpath(vpath)), rules=rules,
                        mask_name=mpath, seed=seed + i, **kw))
  return rois
