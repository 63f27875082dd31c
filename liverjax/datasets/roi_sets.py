"""The ROIs cut from CT volumes (:class:`ROISet`), as a Dataset and as files (.npz or a folder
of 16-bit PNGs, with a listing of every lesion)."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil

import numpy as np

from liverjax.datasets import dataset
from liverjax.datasets.dataset import DataError


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


def to_dataset(rois: ROISet, group_by: str = 'patient', classes=None) -> dataset.Dataset:
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
  return dataset.Dataset(images=np.stack(rois.images)[..., None].astype(np.float32),
                      labels=np.asarray([names.index(c) for c in rois.classes], np.int32),
                      classes=names, groups=groups.astype(np.int64),
                      diameter_px=np.asarray(rois.diameter_px, np.float32), source='ct')


def save(rois: ROISet, ds: dataset.Dataset, out: str, overwrite: bool = False) -> str:
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
    dataset.save_npz(out, ds, patients=np.asarray(rois.patients), lesions=np.asarray(rois.lesions),
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
