"""CT volumes + lesion masks -> a data set of 64x64 lesion ROIs (and optional normal-liver patches).

Reading (:func:`read_volume`) returns a float32 array indexed (slice, row, column) and the voxel
spacing in mm in the same order (None where the file does not store it):

- NIfTI ``.nii`` / ``.nii.gz`` (nibabel): the array is stored (x, y, z); it is transposed to
  (z, y, x), so slices are the third NIfTI axis. Spacing from the header's zooms.
- A DICOM series folder (pydicom): every file in the folder is one slice of one series; slices are
  sorted along the slice normal (``ImagePositionPatient`` and ``ImageOrientationPatient``, else
  ``InstanceNumber``); values are ``RescaleSlope * stored + RescaleIntercept`` (HU). Spacing from
  ``PixelSpacing`` and the slice positions.
- MRC ``.mrc`` (mrcfile): stored (z, y, x) already; a voxel size of 0 means unknown.
- NumPy ``.npy``: one 3-D array (z, y, x), spacing unknown.

Where the spacing is unknown, 1 mm is assumed with a warning unless ``spacing`` is given.
Volumes and masks must have the same shape (the mask is read the same way and rounded to integers).

Extraction (:func:`extract`): the voxels whose mask value is in ``lesion_labels`` are split into
3-D connected components (26-connectivity), smaller than ``min_voxels`` dropped. For each lesion,
one ROI per axial slice it touches (``slices='all'``) or only on its largest slice
(``slices='largest'``): a square centred on the lesion's centroid in that slice, of side
max(``min_side_mm``, ``context`` x the lesion's in-plane extent) in mm, cropped (edge-padded at the
volume border), windowed (default W350/L40 HU -> [0, 1]) and resized to 64x64 (bicubic), as
:func:`liverjax.data.resize`. Lesion classes come from a rule table (:func:`read_class_table`) or
one fixed class. Optional normal-liver patches (``normal_per_volume``) are squares of
``min_side_mm`` centred inside the liver mask whose in-plane square holds no lesion voxel, at
least one side apart from each other in 3-D (so no two overlap).

Groups: each ROI records its patient (volume) and lesion (component, or normal site); the data set's
``groups`` are one of them (``group_by``). Patient grouping is what the paper did; with a single
volume only lesion grouping can make folds (slices of one lesion always stay together).

Command line: ``python -m liverjax.ct_rois`` (see that module).
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import logging
import os
import shutil

import numpy as np
from scipy import ndimage

from liverjax import data, phantom
from liverjax.data import DataError

VOLUME_EXTENSIONS = ('.nii', '.nii.gz', '.mrc', '.npy')


def _ext(path: str) -> str:
  p = path.lower()
  return '.nii.gz' if p.endswith('.nii.gz') else os.path.splitext(p)[1]


def _cannot_read(path: str, e: Exception) -> DataError:
  return DataError(f'{path}: cannot read ({type(e).__name__}: {e})'.replace('\n', ' '))


def _read_nifti(path: str):
  import nibabel as nib
  try:
    img = nib.load(path)
    arr = np.asarray(img.get_fdata(dtype=np.float32))
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
  except Exception as e:   # nibabel raises many types for truncated or corrupt files
    raise _cannot_read(path, e) from e
  if arr.ndim == 4 and arr.shape[3] == 1:
    arr = arr[..., 0]
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  spacing = zooms[::-1] if all(z > 0 for z in zooms) else None
  return np.ascontiguousarray(arr.transpose(2, 1, 0)), spacing


def _read_mrc(path: str):
  import mrcfile
  try:
    with mrcfile.open(path, permissive=False) as m:
      arr = np.asarray(m.data, np.float32).copy()
      vs = m.voxel_size
      spacing = (float(vs.z), float(vs.y), float(vs.x))
  except Exception as e:
    raise _cannot_read(path, e) from e
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  return arr, spacing if all(s > 0 for s in spacing) else None


def _read_npy(path: str):
  try:
    arr = np.load(path, allow_pickle=False)
  except Exception as e:
    raise _cannot_read(path, e) from e
  if arr.ndim != 3:
    raise DataError(f'{path}: expected a 3-D volume, got shape {arr.shape}')
  if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
    raise DataError(f'{path}: unsupported dtype {arr.dtype}')
  return arr.astype(np.float32), None


def _read_dicom_series(folder: str):
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
    hu = pixels * float(getattr(ds, 'RescaleSlope', 1.0)) + float(getattr(ds, 'RescaleIntercept',
                                                                            0.0))
    slices.append((ds, hu, path))
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


def read_volume(path: str) -> tuple[np.ndarray, tuple[float, float, float] | None]:
  """Returns (volume (slices, rows, cols) float32, spacing in mm or None) of a CT or mask file.

  Raises DataError naming the file for a missing path, an unknown format, a corrupt file, a shape
  that is not 3-D, or NaN/inf values.
  """
  if not os.path.exists(path):
    raise DataError(f'{path}: no such file or folder')
  if os.path.isdir(path):
    arr, spacing = _read_dicom_series(path)
  else:
    ext = _ext(path)
    readers = {'.nii': _read_nifti, '.nii.gz': _read_nifti, '.mrc': _read_mrc, '.npy': _read_npy}
    if ext not in readers:
      raise DataError(f'{path}: not a volume (expected {", ".join(VOLUME_EXTENSIONS)} or a DICOM '
                      'series folder)')
    if not os.access(path, os.R_OK):
      raise DataError(f'{path}: not readable (permission denied)')
    arr, spacing = readers[ext](path)
  if not np.all(np.isfinite(arr)):
    raise DataError(f'{path}: contains NaN or inf values')
  if min(arr.shape) < 1:
    raise DataError(f'{path}: empty volume {arr.shape}')
  return arr, spacing


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


@dataclasses.dataclass
class ROISet:
  """ROIs of one or more volumes, before they become a Dataset."""
  images: list = dataclasses.field(default_factory=list)     # (64, 64) float32 in [0, 1]
  classes: list = dataclasses.field(default_factory=list)    # class name per ROI
  patients: list = dataclasses.field(default_factory=list)
  lesions: list = dataclasses.field(default_factory=list)    # '<patient>/c<k>' or '<patient>/n<k>'
  slices: list = dataclasses.field(default_factory=list)
  centres: list = dataclasses.field(default_factory=list)    # (z, y, x) voxel of the ROI centre
  diameter_px: list = dataclasses.field(default_factory=list)
  listing: list = dataclasses.field(default_factory=list)    # one dict per lesion / site

  def extend(self, other: 'ROISet') -> None:
    for f in dataclasses.fields(self):
      getattr(self, f.name).extend(getattr(other, f.name))


def crop_square(slice2d: np.ndarray, cy: float, cx: float, side_y: float, side_x: float,
                size: int = data.IMAGE_SIZE) -> np.ndarray:
  """Returns the (side_y x side_x pixel) box centred at (cy, cx), edge-padded, resized to size."""
  hy, hx = max(int(round(side_y / 2)), 1), max(int(round(side_x / 2)), 1)
  y0, x0 = int(round(cy)) - hy, int(round(cx)) - hx
  pad = max(0, -y0, -x0, y0 + 2 * hy - slice2d.shape[0], x0 + 2 * hx - slice2d.shape[1])
  padded = np.pad(slice2d, pad, mode='edge') if pad else slice2d
  box = padded[y0 + pad:y0 + pad + 2 * hy, x0 + pad:x0 + pad + 2 * hx]
  return data.resize(box, size)


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
  win = lambda a: phantom.window_hu(a, *window_hu)
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
      out.diameter_px.append(float(ext_mm / side_mm * data.IMAGE_SIZE))
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


def patient_id(path: str) -> str:
  """Returns a patient id from a volume path: its file name without extension."""
  base = os.path.basename(os.path.normpath(path))
  for ext in VOLUME_EXTENSIONS:
    if base.lower().endswith(ext):
      return base[:-len(ext)]
  return base


def to_dataset(rois: ROISet, group_by: str = 'patient', classes=None) -> data.Dataset:
  """Returns the ROIs as a Dataset (classes sorted by name unless given; groups per group_by)."""
  if not rois.images:
    raise DataError('no ROIs extracted')
  names = tuple(classes) if classes else tuple(sorted(set(rois.classes)))
  unknown = sorted(set(rois.classes) - set(names))
  if unknown:
    raise DataError(f'classes {unknown} are not among {list(names)}')
  if len(set(rois.classes)) < 2:
    raise DataError(f'only one class extracted ({rois.classes[0]}); need at least 2 (add '
                    'normal-liver patches or a class table)')
  if group_by not in ('patient', 'lesion'):
    raise DataError(f'group_by={group_by!r}: expected "patient" or "lesion"')
  keys = rois.patients if group_by == 'patient' else rois.lesions
  _, groups = np.unique(np.asarray(keys), return_inverse=True)
  return data.Dataset(images=np.stack(rois.images)[..., None].astype(np.float32),
                      labels=np.asarray([names.index(c) for c in rois.classes], np.int32),
                      classes=names, groups=groups.astype(np.int64),
                      diameter_px=np.asarray(rois.diameter_px, np.float32), source='ct')


def save(rois: ROISet, ds: data.Dataset, out: str, overwrite: bool = False) -> str:
  """Writes the data set to out: a .npz file, or a folder (root/<class>/*.png, 16-bit, +
  groups.csv), plus ``<out>.lesions.csv`` listing every lesion. All or nothing: written to a
  temporary name and renamed. Returns out."""
  if os.path.exists(out) and not overwrite:
    raise DataError(f'{out}: already exists (choose another output or pass --overwrite)')
  parent = os.path.dirname(os.path.abspath(out))
  os.makedirs(parent, exist_ok=True)
  listing = out.rstrip('/') + '.lesions.csv'
  tmp_list = listing + f'.tmp{os.getpid()}'
  with open(tmp_list, 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=['patient', 'volume', 'lesion', 'label', 'component',
                                      'voxels', 'class', 'rois'])
    w.writeheader()
    counts = {}
    for les in rois.lesions:
      counts[les] = counts.get(les, 0) + 1
    for row in rois.listing:
      w.writerow(dict(row, rois=counts.get(row['lesion'], 0)))
  if out.endswith('.npz'):
    data.save_npz(out, ds, patients=np.asarray(rois.patients), lesions=np.asarray(rois.lesions),
                  slices=np.asarray(rois.slices), centres=np.asarray(rois.centres))
  else:
    from PIL import Image
    tmp = out.rstrip('/') + f'.tmp{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    rows = ['file,group']
    for i in range(len(ds)):
      cls = ds.classes[ds.labels[i]]
      fname = f'{cls}/{rois.lesions[i].replace("/", "_")}_z{rois.slices[i]:04d}.png'
      os.makedirs(os.path.join(tmp, cls), exist_ok=True)
      arr = np.rint(ds.images[i, ..., 0] * 65535).astype(np.uint16)
      Image.fromarray(arr).save(os.path.join(tmp, fname))
      rows.append(f'{fname},g{ds.groups[i]}')
    with open(os.path.join(tmp, 'groups.csv'), 'w') as f:
      f.write('\n'.join(rows) + '\n')
    if os.path.exists(out):
      shutil.rmtree(out)
    os.replace(tmp, out)
  os.replace(tmp_list, listing)
  return out


def expand(paths) -> list[str]:
  """Returns the paths with shell-style globs expanded (sorted), in the given order otherwise."""
  out = []
  for p in paths:
    hits = sorted(glob.glob(p)) if any(ch in p for ch in '*?[') else [p]
    if not hits:
      raise DataError(f'{p}: no file matches')
    out.extend(hits)
  return out


def extract_volumes(volumes, masks, *, spacing=None, class_table: str = '', seed: int = 0,
                    **kw) -> ROISet:
  """Reads each (volume, mask) pair and returns all their ROIs (kw: see :func:`extract`)."""
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
    vol, sp = read_volume(vpath)
    mask, _ = read_volume(mpath)
    if spacing is None and sp is None:
      logging.warning('%s: voxel spacing unknown; assuming 1 mm (pass spacing)', vpath)
    rois.extend(extract(vol, mask, spacing or sp, patient=patients[i],
                        volume_name=os.path.basename(os.path.normpath(vpath)), rules=rules,
                        mask_name=mpath, seed=seed + i, **kw))
  return rois
