"""CT volume + mask -> ROIs: readers (NIfTI, DICOM, MRC, NumPy), extraction rules, bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest

from liverjax.base import errors
from liverjax.datasets import ct, files, roi_sets, volumes

SPACING = (2.5, 0.8, 0.8)   # z, y, x in mm
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def synthetic_ct(seed=0):
  """Returns (HU volume (24, 96, 96), mask, lesion centres): liver 1, two label-2 and one label-3
  lesions (spheres of radius 8 mm)."""
  rng = np.random.default_rng(seed)
  z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip((24, 96, 96), SPACING)], indexing='ij')
  vol = rng.normal(0, 10, z.shape).astype(np.float32) - 900
  mask = np.zeros(z.shape, np.int16)
  liver = ((z - 30) / 28) ** 2 + ((y - 38) / 34) ** 2 + ((x - 38) / 34) ** 2 < 1
  mask[liver] = 1
  vol[liver] += 960
  centres = [((30, 25, 25), 2, -40), ((30, 52, 50), 2, -40), ((20, 30, 52), 3, 80)]
  for (cz, cy, cx), lab, delta in centres:
    les = (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 < 8 ** 2
    mask[les] = lab
    vol[les] += delta
  return vol, mask, centres


def write_nifti(path, arr, spacing=SPACING):
  import nibabel as nib
  affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
  nib.save(nib.Nifti1Image(np.ascontiguousarray(arr.transpose(2, 1, 0)), affine), path)


def write_mrc(path, arr):
  import mrcfile
  with mrcfile.new(path, overwrite=True) as m:
    m.set_data(arr.astype(np.float32))


def write_dicom_series(folder, vol, spacing=SPACING, rescale=True, prefix='slice'):
  import pydicom
  from pydicom.dataset import FileDataset, FileMetaDataset
  from pydicom.uid import ExplicitVRLittleEndian, generate_uid
  os.makedirs(folder, exist_ok=True)
  series = generate_uid()
  order = np.random.default_rng(1).permutation(len(vol))   # files not in slice order
  for n, i in enumerate(order):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.Modality = series, 'CT'
    ds.Rows, ds.Columns = vol.shape[1:]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    if rescale:
      ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelSpacing = [spacing[1], spacing[2]]
    ds.SliceThickness = spacing[0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0.0, 0.0, float(i * spacing[0])]
    ds.InstanceNumber = int(i) + 1
    ds.PixelData = (np.rint(vol[i]) + 1024).astype(np.int16).tobytes()
    ds.save_as(os.path.join(folder, f'{prefix}{n:03d}.dcm'), enforce_file_format=True)
  return series


def test_readers_agree(tmp_path):
  vol, mask, _ = synthetic_ct()
  write_nifti(str(tmp_path / 'v.nii.gz'), vol)
  write_mrc(str(tmp_path / 'v.mrc'), vol)
  np.save(tmp_path / 'v.npy', vol)
  write_dicom_series(str(tmp_path / 'dicom'), vol)
  for name, spacing in [('v.nii.gz', SPACING), ('v.mrc', None), ('v.npy', None),
                        ('dicom', SPACING)]:
    arr, sp = volumes.read_volume(str(tmp_path / name))
    atol = 0.5 if name == 'dicom' else 1e-4            # DICOM stores integers
    np.testing.assert_allclose(arr, vol, atol=atol, err_msg=name)
    if spacing is None:
      assert sp is None, name
    else:
      np.testing.assert_allclose(sp, spacing, rtol=1e-5, err_msg=name)


def test_dicom_without_rescale_tags_or_with_two_series(tmp_path):
  """CT stored unsigned without RescaleSlope/Intercept: HU would be off by 1,024, so it is
  refused unless the values are given; a folder with two series is refused, naming both, unless
  one is picked."""
  vol, _, _ = synthetic_ct()
  write_dicom_series(str(tmp_path / 'bare'), vol[:4], rescale=False)
  with pytest.raises(errors.DataError, match='without RescaleSlope/RescaleIntercept'):
    volumes.read_volume(str(tmp_path / 'bare'))
  arr, _ = volumes.read_volume(str(tmp_path / 'bare'), dicom_rescale=(1.0, -1024.0))
  np.testing.assert_allclose(arr, vol[:4], atol=0.5)
  first = write_dicom_series(str(tmp_path / 'two'), vol[:4])
  second = write_dicom_series(str(tmp_path / 'two'), vol[:4] + 100, prefix='other')
  with pytest.raises(errors.DataError, match='holds 2 series') as refused:
    volumes.read_volume(str(tmp_path / 'two'))
  assert f'{first}: 4 slices' in str(refused.value) and f'{second}: 4 slices' in str(refused.value)
  arr, _ = volumes.read_volume(str(tmp_path / 'two'), dicom_series=second)
  np.testing.assert_allclose(arr, vol[:4] + 100, atol=0.5)
  with pytest.raises(errors.DataError, match='no series 1.2.3'):
    volumes.read_volume(str(tmp_path / 'two'), dicom_series='1.2.3')


def test_an_odd_dicom_slice_and_a_mirrored_nifti_mask_are_named(tmp_path, caplog):
  """Built as a scanner or a tool writes them: one slice of another size is named with both
  sizes; a mask whose affine mirrors the volume's (same shape and world box, x negated: a common
  export bug) is refused naming both orientations, and reoriented only when asked."""
  import nibabel as nib
  import pydicom
  vol, mask, _ = synthetic_ct()
  write_dicom_series(str(tmp_path / 'd'), vol[:5])
  name = sorted(os.listdir(tmp_path / 'd'))[2]
  ds = pydicom.dcmread(tmp_path / 'd' / name)
  small = (np.rint(vol[0, :64, :80]) + 1024).astype(np.int16)
  ds.Rows, ds.Columns = small.shape
  ds.PixelData = small.tobytes()
  ds.save_as(tmp_path / 'd' / name, enforce_file_format=True)
  with pytest.raises(errors.DataError) as refused:
    volumes.read_volume(str(tmp_path / 'd'))
  assert str(refused.value).startswith(str(tmp_path / 'd' / name))
  assert '80 x 64 pixels in a series of 96 x 96 (4 of 5 slices)' in str(refused.value)
  write_nifti(str(tmp_path / 'v.nii.gz'), vol)
  mirrored = np.diag([-SPACING[2], SPACING[1], SPACING[0], 1.0])
  mirrored[0, 3] = (vol.shape[2] - 1) * SPACING[2]            # the same world box, x negated
  nib.save(nib.Nifti1Image(np.ascontiguousarray(mask.transpose(2, 1, 0)), mirrored),
           str(tmp_path / 'm.nii.gz'))
  pair = [str(tmp_path / 'v.nii.gz')], [str(tmp_path / 'm.nii.gz')]
  with pytest.raises(errors.DataError, match='m.nii.gz: stored as LAS, its volume .* as RAS'):
    ct.extract_volumes(*pair)
  assert len(ct.extract_volumes(*pair, reorient_mask=True).images) > 0
  assert any('reoriented (--reorient_mask)' in r.getMessage() for r in caplog.records)


def test_nifti_in_another_orientation_reads_as_axial(tmp_path):
  """The same volume stored LPS (x and y flipped) and with its axes stored (z, y, x) reads back
  as the RAS-stored one: reoriented to the canonical orientation before slicing."""
  import nibabel as nib
  vol, _, _ = synthetic_ct()
  write_nifti(str(tmp_path / 'ras.nii.gz'), vol)
  xyz = np.ascontiguousarray(vol.transpose(2, 1, 0))
  sz, sy, sx = SPACING
  nx, ny = xyz.shape[:2]
  lps = np.array([[-sx, 0, 0, (nx - 1) * sx], [0, -sy, 0, (ny - 1) * sy], [0, 0, sz, 0],
                  [0, 0, 0, 1.0]])
  nib.save(nib.Nifti1Image(xyz[::-1, ::-1].copy(), lps), str(tmp_path / 'lps.nii.gz'))
  zyx = np.array([[0, 0, sx, 0], [0, sy, 0, 0], [sz, 0, 0, 0], [0, 0, 0, 1.0]])
  nib.save(nib.Nifti1Image(np.ascontiguousarray(vol), zyx), str(tmp_path / 'zyx.nii.gz'))
  ras, sp = volumes.read_volume(str(tmp_path / 'ras.nii.gz'))
  for name in ('lps.nii.gz', 'zyx.nii.gz'):
    arr, sp2 = volumes.read_volume(str(tmp_path / name))
    np.testing.assert_array_equal(arr, ras, err_msg=name)
    np.testing.assert_allclose(sp2, sp, rtol=1e-6)


def test_nifti_mask_with_another_affine_is_refused(tmp_path):
  import nibabel as nib
  vol, mask, _ = synthetic_ct()
  write_nifti(str(tmp_path / 'v.nii.gz'), vol)
  write_nifti(str(tmp_path / 'm.nii.gz'), mask)
  ct.extract_volumes([str(tmp_path / 'v.nii.gz')], [str(tmp_path / 'm.nii.gz')], spacing=None)
  shifted = np.diag([SPACING[2], SPACING[1], SPACING[0], 1.0])
  shifted[:3, 3] = (10.0, 0.0, 0.0)   # same shape, 10 mm to the side
  nib.save(nib.Nifti1Image(np.ascontiguousarray(mask.transpose(2, 1, 0)), shifted),
           str(tmp_path / 'shifted.nii.gz'))
  with pytest.raises(errors.DataError, match='shifted.nii.gz: its affine differs .* by up to 10'):
    ct.extract_volumes([str(tmp_path / 'v.nii.gz')], [str(tmp_path / 'shifted.nii.gz')])


def test_a_volume_too_large_for_memory_is_refused_from_its_header(tmp_path, monkeypatch):
  huge = tmp_path / 'huge.npy'
  with open(huge, 'wb') as f:   # a header declaring 4096^3 float32 (256 GiB), and no data
    np.lib.format.write_array_header_2_0(f, {'descr': '<f4', 'fortran_order': False,
                                            'shape': (4096, 4096, 4096)})
  with pytest.raises(errors.DataError, match=r'huge.npy: a volume of shape \(4096, 4096, 4096\) '
                     r'needs 256.0 GiB'):
    volumes.read_volume(str(huge), max_bytes=2 ** 30)
  vol, _, _ = synthetic_ct()
  write_nifti(str(tmp_path / 'v.nii.gz'), vol)
  write_mrc(str(tmp_path / 'v.mrc'), vol)
  write_dicom_series(str(tmp_path / 'dcm'), vol[:4])
  monkeypatch.setenv('LIVERJAX_MAX_VOLUME_GB', str(1000 / 2 ** 30))   # 1000 bytes
  for name in ('v.nii.gz', 'v.mrc', 'dcm'):
    with pytest.raises(errors.DataError, match='over the limit of'):
      volumes.read_volume(str(tmp_path / name))
  monkeypatch.delenv('LIVERJAX_MAX_VOLUME_GB')
  assert volumes.read_volume(str(tmp_path / 'v.mrc'))[0].shape == vol.shape


def test_spacing_must_be_three_positive_values(tmp_path):
  vol, mask, _ = synthetic_ct()
  np.save(tmp_path / 'v.npy', vol)
  np.save(tmp_path / 'm.npy', mask)
  for spacing in ((1.0, 1.0), (1.0, 0.0, 1.0)):
    with pytest.raises(errors.DataError, match='expected three positive values'):
      ct.extract_volumes([str(tmp_path / 'v.npy')], [str(tmp_path / 'm.npy')], spacing=spacing)


def test_extract_rules(tmp_path):
  vol, mask, centres = synthetic_ct()
  table = tmp_path / 'classes.csv'
  table.write_text('volume,class,label\n*,cyst,2\npatA.nii.gz,metastasis,3\n')
  rules = ct.read_class_table(str(table))
  rois = ct.extract(vol, mask, SPACING, patient='patA', volume_name='patA.nii.gz', rules=rules,
                    lesion_labels=(2, 3), normal_per_volume=4, seed=0, slices='largest')
  lesions = [r for r in rois.listing if r['component']]
  assert sorted(r['class'] for r in lesions) == ['cyst', 'cyst', 'metastasis']
  # one ROI per lesion on its largest slice, centred: the centre is the lesion, darker or brighter
  n_les = len(lesions)
  for img, cls in zip(rois.images[:n_les], rois.classes[:n_les]):
    centre = img[28:36, 28:36].mean()
    ring = np.concatenate([img[:6].ravel(), img[-6:].ravel()]).mean()
    assert (centre < ring) if cls == 'cyst' else (centre > ring)
  # side = max(24 mm, 1.5 x 16 mm) = 24 mm, lesion 16 mm -> about 64 * 16 / 24 = 43 px
  assert 35 < rois.diameter_px[0] < 50
  normal = [i for i, c in enumerate(rois.classes) if c == 'liver']
  assert 1 <= len(normal) <= 4
  half = int(round(24 / 0.8 / 2))
  for i in normal:     # centred inside the liver, no lesion voxel in the patch's square
    z, y, x = (int(round(v)) for v in rois.centres[i])
    assert mask[z, y, x] == 1
    assert not np.isin(mask[z, max(y - half, 0):y + half, max(x - half, 0):x + half], [2, 3]).any()
  # every axial slice
  all_rois = ct.extract(vol, mask, SPACING, patient='patA', rules=rules, slices='all',
                        volume_name='patA.nii.gz',
                        lesion_labels=(2, 3))
  expected = sum(len(np.unique(np.argwhere(np.isin(mask, [lab]) & (np.abs(
      np.arange(24)[:, None, None] * 2.5 - c[0]) < 8.01))[:, 0])) for c, lab, _ in centres)
  assert len(all_rois.images) >= expected - 3 and len(set(all_rois.lesions)) == 3
  ds = roi_sets.to_dataset(all_rois, group_by='lesion')
  assert ds.classes == ('cyst', 'metastasis') and len(np.unique(ds.groups)) == 3


def test_command_writes_folder_and_npz_that_loaders_read(tmp_path):
  vol, mask, _ = synthetic_ct()
  for p in ('a', 'b', 'c'):
    write_nifti(str(tmp_path / f'{p}.nii.gz'), vol + (ord(p) - 97) * 3)
    write_nifti(str(tmp_path / f'{p}_mask.nii.gz'), mask)
  base = [sys.executable, '-m', 'liverjax.tools.ct_rois', f'--volume={tmp_path}/?.nii.gz',
          f'--mask={tmp_path}/?_mask.nii.gz', '--lesion_labels=2,3', '--class_name=lesion',
          '--normal_per_volume=3', '--slices=largest']
  env = dict(os.environ, PYTHONPATH=ROOT)
  for out in ('rois.npz', 'rois'):
    r = subprocess.run(base + [f'--out={tmp_path / out}'], env=env, cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
  a = files.load_npz(str(tmp_path / 'rois.npz'))
  b = files.load_folder(str(tmp_path / 'rois'))
  assert a.classes == b.classes == ('lesion', 'liver')
  assert a.class_counts() == b.class_counts() and a.class_counts()[0] == 9
  assert len(np.unique(a.groups)) == len(np.unique(b.groups)) == 3      # patients
  np.testing.assert_allclose(np.sort(a.images.sum((1, 2, 3))), np.sort(b.images.sum((1, 2, 3))),
                             atol=0.01)
  assert (tmp_path / 'rois.npz.lesions.csv').read_text().count('\n') == 1 + 3 * 3 + 9
  assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]


def _bad_ct_cases(tmp_path):
  vol, mask, _ = synthetic_ct()
  write_nifti(str(tmp_path / 'v.nii.gz'), vol)
  write_nifti(str(tmp_path / 'm.nii.gz'), mask)
  v, m = str(tmp_path / 'v.nii.gz'), str(tmp_path / 'm.nii.gz')
  cases = {'missing_volume': ([str(tmp_path / 'gone.nii.gz')], [m], {}, 'gone.nii.gz: no such')}
  data_ = (tmp_path / 'v.nii.gz').read_bytes()
  (tmp_path / 'trunc.nii.gz').write_bytes(data_[:len(data_) // 2])
  cases['truncated_nifti'] = ([str(tmp_path / 'trunc.nii.gz')], [m], {},
                              'trunc.nii.gz: cannot read')
  (tmp_path / 'junk.nii').write_bytes(b'not a nifti file at all' * 20)
  cases['corrupt_nifti'] = ([str(tmp_path / 'junk.nii')], [m], {}, 'junk.nii: cannot read')
  write_dicom_series(str(tmp_path / 'dcm'), vol[:4])
  (tmp_path / 'dcm' / 'slice002.dcm').write_bytes(b'garbage' * 10)
  cases['corrupt_dicom'] = ([str(tmp_path / 'dcm')], [m], {}, 'slice002.dcm: cannot read')
  (tmp_path / 'v.txt').write_text('hello')
  cases['non_volume'] = ([str(tmp_path / 'v.txt')], [m], {}, 'v.txt: not a volume')
  write_nifti(str(tmp_path / 'small_mask.nii.gz'), mask[:, :50])
  cases['shape_mismatch'] = ([v], [str(tmp_path / 'small_mask.nii.gz')], {},
                             'differs from volume shape')
  write_nifti(str(tmp_path / 'liver_only.nii.gz'), np.minimum(mask, 1))
  cases['no_lesion'] = ([v], [str(tmp_path / 'liver_only.nii.gz')], {}, 'no lesion voxels')
  nan = vol.copy()
  nan[3, 3, 3] = np.nan
  write_nifti(str(tmp_path / 'nan.nii.gz'), nan)
  cases['nan'] = ([str(tmp_path / 'nan.nii.gz')], [m], {}, 'nan.nii.gz: contains NaN')
  (tmp_path / 'table.csv').write_text('volume,class,label\n*,cyst,3\n')
  cases['lesion_without_class'] = ([v], [m], dict(class_table=str(tmp_path / 'table.csv'),
                                                  lesion_labels=(2, 3)),
                                   'matches no row of the class table')
  cases['count_mismatch'] = ([v, v], [m], {}, '2 volumes but 1 masks')
  cases['one_class'] = ([v], [m], dict(normal_per_volume=0), 'only one class')
  return cases


BAD_CT = ['missing_volume', 'truncated_nifti', 'corrupt_nifti', 'corrupt_dicom', 'non_volume',
          'shape_mismatch', 'no_lesion', 'nan', 'lesion_without_class', 'count_mismatch',
          'one_class']


@pytest.mark.parametrize('case', BAD_CT)
def test_bad_ct_input_is_refused_and_nothing_written(tmp_path, case):
  volumes, masks, kw, message = _bad_ct_cases(tmp_path)[case]
  kw = dict(dict(normal_per_volume=2, lesion_labels=(2,)), **kw)
  out = str(tmp_path / 'out.npz')
  with pytest.raises(errors.DataError) as e:
    rois = ct.extract_volumes(volumes, masks, **kw)
    roi_sets.save(rois, roi_sets.to_dataset(rois), out)
  assert message in str(e.value) and '\n' not in str(e.value)
  assert not [f for f in os.listdir(tmp_path) if f.startswith('out')]


def test_existing_output_is_not_overwritten(tmp_path):
  vol, mask, _ = synthetic_ct()
  rois = ct.extract(vol, mask, SPACING, normal_per_volume=2)
  out = tmp_path / 'o.npz'
  out.write_bytes(b'keep')
  with pytest.raises(errors.DataError, match='already exists'):
    roi_sets.save(rois, roi_sets.to_dataset(rois), str(out))
  assert out.read_bytes() == b'keep'
