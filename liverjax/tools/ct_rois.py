"""CT volumes + masks -> a liverjax data set of 64x64 ROIs (rules: liverjax/datasets/ct.py).

  python -m liverjax.tools.ct_rois --volume='cts/*.nii.gz' --mask='masks/*.nii.gz' \\
      --class_table=classes.csv --out=rois.npz
  python -m liverjax.tools.ct_rois --volume=img_117.mrc --mask=lab_117.mrc --lesion_labels=2 \\
      --slices=largest --class_name=tumour --normal_per_volume=60 --group_by=lesion --out=lits.npz

Volumes and masks pair up in the order given (globs are sorted). The output is ``.npz`` (read with
``--config.data.source=npz --config.data.path=OUT``) or, for any other name, a folder
``OUT/<class>/*.png`` (16-bit) with ``groups.csv`` (``--config.data.source=folder``). Next to it,
``OUT.lesions.csv`` lists every lesion (patient, mask value, component number, voxels, class,
ROIs): run once with ``--class_name`` to get the component numbers for a class table. Nothing is
written unless every input is valid. Exit code 2 with one line for bad input.
"""

import logging

from absl import flags

from liverjax.base import cli, errors
from liverjax.datasets import ct, roi_sets

flags.DEFINE_multi_string('volume', None, 'CT volume(s): .nii/.nii.gz/.mrc/.npy or a DICOM '
                          'series folder; globs allowed; repeat the flag for more.')
flags.DEFINE_multi_string('mask', None, 'Label volume(s), one per volume, same order and shape.')
flags.DEFINE_string('out', None, 'Output .npz file or folder.')
flags.DEFINE_string('class_table', '', 'CSV volume,class[,label][,component] (see liverjax.ct).')
flags.DEFINE_string('class_name', 'lesion', 'The class of every lesion when there is no table.')
flags.DEFINE_list('lesion_labels', ['2'], 'Mask values that mark lesions.')
flags.DEFINE_integer('liver_label', 1, 'Mask value of the liver (for normal patches).')
flags.DEFINE_integer('normal_per_volume', 0, 'Normal-liver patches per volume (0 = none).')
flags.DEFINE_string('normal_class', 'liver', 'Class name of the normal-liver patches.')
flags.DEFINE_enum('slices', 'all', ['all', 'largest'], 'ROIs per lesion: one per axial slice it '
                  'touches, or only its largest slice.')
flags.DEFINE_float('min_side_mm', 24.0, 'Smallest ROI side in mm.')
flags.DEFINE_float('context', 1.5, 'ROI side = max(min_side_mm, context x lesion extent).')
flags.DEFINE_integer('min_voxels', 10, 'Drop lesion components smaller than this.')
flags.DEFINE_list('window', ['350', '40'], 'Window width,level in HU.')
flags.DEFINE_list('spacing', None, 'Voxel spacing z,y,x in mm where the files do not store it.')
flags.DEFINE_list('dicom_rescale', None, 'slope,intercept for DICOM CT slices that store no '
                  'RescaleSlope/RescaleIntercept (refused without it).')
flags.DEFINE_string('dicom_series', None, 'SeriesInstanceUID to read from a DICOM folder that '
                    'holds several series (refused without it).')
flags.DEFINE_bool('reorient_mask', False, 'NIfTI: accept a mask stored in another orientation '
                  'than its volume (both affines trusted); refused by default.')
flags.DEFINE_enum('group_by', 'patient', ['patient', 'lesion'], 'Cross-validation groups.')
flags.DEFINE_integer('seed', 0, 'Seed for placing normal patches.')
flags.DEFINE_bool('overwrite', False, 'Replace an existing output.')
FLAGS = flags.FLAGS


def _floats(name: str, values, n: int):
  """Returns the flag's values as a tuple of n floats (None if unset); raises DataError."""
  if not values:
    return None
  try:
    out = tuple(float(v) for v in values)
  except ValueError:
    out = ()
  if len(out) != n:
    raise errors.DataError(f'--{name}={",".join(values)}: expected {n} numbers')
  return out


def main(argv):
  del argv
  logging.getLogger().setLevel(logging.INFO)
  spacing = _floats('spacing', FLAGS.spacing, 3)
  rois = ct.extract_volumes(
      FLAGS.volume, FLAGS.mask, spacing=spacing, class_table=FLAGS.class_table,
      fixed_class=FLAGS.class_name, lesion_labels=tuple(int(v) for v in FLAGS.lesion_labels),
      liver_label=FLAGS.liver_label, slices=FLAGS.slices, min_side_mm=FLAGS.min_side_mm,
      context=FLAGS.context, min_voxels=FLAGS.min_voxels,
      window_hu=tuple(float(v) for v in FLAGS.window),
      normal_per_volume=FLAGS.normal_per_volume, normal_class=FLAGS.normal_class,
      seed=FLAGS.seed, dicom_rescale=_floats('dicom_rescale', FLAGS.dicom_rescale, 2),
      dicom_series=FLAGS.dicom_series, reorient_mask=FLAGS.reorient_mask)
  ds = roi_sets.to_dataset(rois, FLAGS.group_by)
  roi_sets.save(rois, ds, FLAGS.out, overwrite=FLAGS.overwrite)
  print(f'{len(ds)} ROIs, classes {dict(zip(ds.classes, ds.class_counts()))}, '
        f'{len(set(ds.groups.tolist()))} groups ({FLAGS.group_by}) -> {FLAGS.out}')


if __name__ == '__main__':
  flags.mark_flags_as_required(['volume', 'mask', 'out'])
  cli.run(main)
