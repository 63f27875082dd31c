import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from liverjax.base import errors
from liverjax.datasets import dataset, files, phantom, splits, tfds_source


def _png(path, arr, mode=None):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(arr, mode=mode).save(path) if mode else Image.fromarray(arr).save(path)


@pytest.fixture
def folder(tmp_path):
  rng = np.random.default_rng(0)
  root = tmp_path / 'rois'
  for cls in ('benign', 'malignant'):
    for i in range(4):
      _png(str(root / cls / f'{i}.png'), rng.integers(0, 256, (32, 32), dtype=np.uint8))
  np.save(root / 'benign' / 'x.npy', rng.uniform(0, 1, (64, 64)).astype(np.float32))
  return root


def test_folder_loads_any_class_names_and_resizes(folder):
  ds = files.load_folder(str(folder))
  assert ds.classes == ('benign', 'malignant')
  assert ds.images.shape == (9, 64, 64, 1) and ds.images.dtype == np.float32
  assert ds.class_counts() == [5, 4]
  assert 0 <= ds.images.min() and ds.images.max() <= 1
  assert len(np.unique(ds.groups)) == 9          # no groups.csv: one group per image
  assert np.isnan(ds.diameter_px).all()


def test_folder_groups_csv(folder):
  rows = ['file,group'] + [f'benign/{i}.png,p{i % 2}' for i in range(4)] + [
      'benign/x.npy,p9'] + [f'malignant/{i}.png,q{i}' for i in range(4)]
  (folder / 'groups.csv').write_text('\n'.join(rows) + '\n')
  ds = files.load_folder(str(folder))
  assert len(np.unique(ds.groups)) == 7
  assert ds.groups[0] == ds.groups[2]


def test_16bit_and_rgb_png_are_converted_with_a_warning(tmp_path, caplog):
  root = tmp_path / 'r'
  _png(str(root / 'a' / '1.png'), np.full((16, 16), 65535, np.uint16))
  _png(str(root / 'a' / '2.png'), np.full((16, 16), 32768, np.uint16))
  rgb = np.zeros((16, 16, 3), np.uint8)
  rgb[..., 0] = 255
  _png(str(root / 'b' / '1.png'), rgb)
  _png(str(root / 'b' / '2.png'), np.full((16, 16, 3), 128, np.uint8))
  with caplog.at_level('WARNING'):
    ds = files.load_folder(str(root))
  np.testing.assert_allclose(ds.images[0], 1.0, atol=1e-6)          # 16-bit scaled by 65535
  np.testing.assert_allclose(ds.images[1], 32768 / 65535, atol=1e-6)
  np.testing.assert_allclose(ds.images[2], 76 / 255, atol=1e-6)    # PIL's ITU-R 601 luma
  assert 'b/1.png: RGB image converted to grayscale' in caplog.text


def _bad_cases(tmp_path):
  rng = np.random.default_rng(0)
  good = rng.integers(0, 256, (16, 16), dtype=np.uint8)

  def two_classes(name):
    root = tmp_path / name
    _png(str(root / 'a' / 'ok.png'), good)
    _png(str(root / 'b' / 'ok.png'), 255 - good)
    return root

  cases = {}
  cases['missing'] = (tmp_path / 'nope', 'no such folder')
  (tmp_path / 'empty').mkdir()
  cases['empty'] = (tmp_path / 'empty', 'no class folders')
  r = tmp_path / 'one'
  _png(str(r / 'a' / 'ok.png'), good)
  cases['one_class'] = (r, 'only one class')
  r = two_classes('noimg')
  (r / 'c').mkdir()
  cases['class_without_images'] = (r, 'class folder has no images')
  r = two_classes('corrupt')
  (r / 'a' / 'bad.png').write_bytes((r / 'a' / 'ok.png').read_bytes()[:40])
  cases['truncated_png'] = (r, 'bad.png: cannot read')
  r = two_classes('text')
  (r / 'a' / 'notes.txt').write_text('hello')
  cases['non_image'] = (r, 'notes.txt: not an image file')
  r = two_classes('tiny')
  _png(str(r / 'a' / 'tiny.png'), good[:4, :4])
  cases['tiny'] = (r, 'smaller than 8x8')
  r = two_classes('nan')
  arr = np.zeros((16, 16), np.float32)
  arr[3, 3] = np.nan
  np.save(r / 'a' / 'nan.npy', arr)
  cases['nan'] = (r, 'nan.npy: contains NaN')
  r = two_classes('hu')
  np.save(r / 'a' / 'hu.npy', np.full((16, 16), 120.0, np.float32))
  cases['unscaled'] = (r, 'expected [0, 1]')
  r = two_classes('corrupt_npy')
  (r / 'a' / 'x.npy').write_bytes(b'\x93NUMPY garbage')
  cases['corrupt_npy'] = (r, 'x.npy: cannot read')
  r = two_classes('groups_missing')
  (r / 'groups.csv').write_text('file,group\na/ok.png,1\n')
  cases['groups_missing_entry'] = (r, 'no group for 1 file')
  r = two_classes('groups_unknown')
  (r / 'groups.csv').write_text('file,group\na/ok.png,1\nb/ok.png,2\nc/gone.png,3\n')
  cases['groups_unknown_file'] = (r, 'c/gone.png')
  r = two_classes('duplicate')
  _png(str(r / 'b' / 'copy.png'), good)
  cases['duplicate'] = (r, 'b/copy.png: identical to')
  (tmp_path / 'a_file').write_text('x')
  cases['not_a_folder'] = (tmp_path / 'a_file', 'not a folder')
  return cases


BAD = ['missing', 'empty', 'one_class', 'class_without_images', 'truncated_png', 'non_image',
       'tiny', 'nan', 'unscaled', 'corrupt_npy', 'groups_missing_entry', 'groups_unknown_file',
       'duplicate', 'not_a_folder']


@pytest.mark.parametrize('case', BAD)
def test_folder_rejects_bad_input_with_one_line(tmp_path, case):
  root, message = _bad_cases(tmp_path)[case]
  with pytest.raises(errors.DataError) as e:
    files.load_folder(str(root))
  assert message in str(e.value)
  assert '\n' not in str(e.value)


def test_npz_round_trip(tmp_path):
  ph = phantom.load_phantom(counts=(5, 6, 7))
  path = dataset.save_npz(str(tmp_path / 'p.npz'), ph)
  back = files.load_npz(path)
  assert back.classes == ph.classes
  np.testing.assert_allclose(back.images, ph.images, atol=1e-6)
  np.testing.assert_array_equal(back.labels, ph.labels)
  np.testing.assert_array_equal(np.unique(back.groups, return_inverse=True)[1],
                                np.unique(ph.groups, return_inverse=True)[1])


@pytest.mark.parametrize('arrays,message', [
    (dict(images=np.zeros((4, 16, 16), np.float32)), 'missing array "labels"'),
    (dict(images=np.zeros((4, 16, 16), np.float32), labels=np.array([0, 1, 2, 5]),
          classes=np.array(['a', 'b', 'c'])), 'outside the 3 classes'),
    (dict(images=np.zeros((4, 16, 16), np.float32), labels=np.zeros(4, int)), 'need at least 2'),
    (dict(images=np.zeros((4, 16), np.float32), labels=np.array([0, 1, 0, 1])), 'must be (N, H, W)'),
    (dict(images=np.full((2, 16, 16), np.inf, np.float32), labels=np.array([0, 1])), 'NaN or inf'),
    (dict(images=np.random.default_rng(0).uniform(size=(4, 16, 16)), labels=np.array([0, 1, 0, 1]),
          classes=np.array(['a', 'b', 'c'])), "no images labelled with class 'c'"),
    (dict(images=np.random.default_rng(0).uniform(size=(4, 16, 16)), labels=np.array([0, 1, 0, 1]),
          classes=np.array(['a', 'a'])), 'names a class twice'),
    (dict(images=np.concatenate([np.full((2, 16, 16), 0.5), np.full((2, 16, 16), 0.2)]),
          labels=np.array([0, 0, 1, 1])), 'bad.npz: images[1]: identical to images[0]'),
])
def test_npz_rejects_bad_input(tmp_path, arrays, message):
  path = str(tmp_path / 'bad.npz')
  np.savez(path, **arrays)
  with pytest.raises(errors.DataError) as e:
    files.load_npz(path)
  assert message in str(e.value) and 'bad.npz' in str(e.value)


@pytest.mark.parametrize('k,seed', [(3, 0), (3, 1), (5, 0)])
def test_kfold_keeps_groups_together_and_covers_everything(k, seed):
  ph = phantom.load_phantom()
  folds = splits.stratified_group_kfold(ph.labels, ph.groups, k=k, seed=seed)
  tests = np.concatenate([t for _, t in folds])
  assert sorted(tests.tolist()) == list(range(len(ph)))        # each image tested exactly once
  for train, test in folds:
    assert not set(ph.groups[train]) & set(ph.groups[test])     # no group straddles folds
    assert len(set(train) | set(test)) == len(ph)
    # stratified: each class's share of the test fold is near its overall share
    share = np.bincount(ph.labels[test], minlength=3) / len(test)
    np.testing.assert_allclose(share, np.bincount(ph.labels) / len(ph), atol=0.08)


def test_a_fraction_of_the_training_patients_is_kept_nested_per_class():
  ph = phantom.load_phantom()
  folds = splits.stratified_group_kfold(ph.labels, ph.groups, k=3)
  kept = {f: splits.keep_fraction(folds, ph.labels, ph.groups, f) for f in (0.25, 0.5, 1.0)}
  assert kept[1.0] is folds
  for k, (train, test) in enumerate(folds):
    for f in (0.25, 0.5):
      sub, sub_test = kept[f][k]
      assert sub_test is test and set(sub) <= set(train)
      for g in set(ph.groups[sub]):   # whole patients: every ROI of a kept patient is kept
        assert set(np.flatnonzero(ph.groups == g)) & set(train) <= set(sub)
      for c in range(3):              # each class keeps about its share of its patients
        n_c = len(set(ph.groups[train][ph.labels[train] == c]))
        got = len(set(ph.groups[sub][ph.labels[sub] == c]))
        assert abs(got - f * n_c) <= 1, (f, c, got, n_c)
    assert set(kept[0.25][k][0]) <= set(kept[0.5][k][0])   # nested
  with pytest.raises(errors.DataError, match='fraction'):
    splits.keep_fraction(folds, ph.labels, ph.groups, 0.0)


def test_repeated_kfold_keeps_the_first_partition_and_draws_new_ones():
  ph = phantom.load_phantom()
  cfg = {'fraction': 1.0}
  one = splits.experiment_folds(ph.labels, ph.groups, cfg, 3, 0)
  rep = splits.experiment_folds(ph.labels, ph.groups, cfg, 3, 0, repeats=3)
  assert len(rep) == 9
  for (a, b), (c, d) in zip(one, rep[:3]):                      # R = 1 is today's folds
    np.testing.assert_array_equal(a, c) and np.testing.assert_array_equal(b, d)
  parts = [frozenset(rep[3 * r][1].tolist()) for r in range(3)]
  assert len(set(parts)) == 3                                   # each repeat its own partition
  for r in range(3):                                            # and each a whole partition
    tests = np.concatenate([t for _, t in rep[3 * r:3 * r + 3]])
    assert sorted(tests.tolist()) == list(range(len(ph)))
  with pytest.raises(errors.DataError, match='repeats'):
    splits.experiment_folds(ph.labels, ph.groups, cfg, 3, 0, repeats=0)


def test_kfold_too_few_groups():
  with pytest.raises(errors.DataError, match='only 2 groups'):
    splits.stratified_group_kfold(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]), k=3)


def test_tfds_phantom_and_folder(tmp_path, folder):
  tfds_source.prepare('liverjax_phantom', data_dir=str(tmp_path / 'tfds'))
  source = tfds.data_source('liverjax_phantom', data_dir=str(tmp_path / 'tfds'))['train']
  assert len(source) == 182 and source[0]['image'].shape == (64, 64, 1)
  ds = tfds_source.load('liverjax_phantom', data_dir=str(tmp_path / 'tfds'))
  ph = phantom.load_phantom()
  assert ds.classes == ph.classes and ds.class_counts() == ph.class_counts()
  np.testing.assert_allclose(np.sort(ds.images.sum((1, 2, 3))), np.sort(ph.images.sum((1, 2, 3))),
                             rtol=1e-6)
  built = tfds_source.prepare('liverjax_folder', data_dir=str(tmp_path / 'tfds'), folder=str(folder))
  back = tfds_source.load(built)
  assert back.classes == ('benign', 'malignant') and len(back) == 9


def test_tfds_source_validates_what_it_reads(monkeypatch):
  """A TFDS set goes through the checks every loader's input goes through."""
  class Builder:
    class info:
      features = {'label': type('L', (), {'names': ['a', 'b']})()}

    def __init__(self, records):
      self.records = records

    def as_data_source(self, split):
      return self.records

  image = np.full((64, 64, 1), 0.5, np.float32)
  good = [{'image': image * (i + 1) / 4, 'label': i % 2, 'group': i, 'diameter_px': np.nan}
          for i in range(4)]
  cases = {'identical to': [dict(r, image=image) for r in good],
           'NaN or inf': [dict(good[0], image=image * np.nan)] + good[1:],
           'expected \\[0, 1\\]': [dict(good[0], image=image * 3)] + good[1:],
           'outside the 2 classes': [dict(good[0], label=5)] + good[1:]}
  monkeypatch.setattr(tfds, 'builder', lambda name, data_dir=None: Builder(good))
  assert len(tfds_source.load('fake')) == 4
  for message, records in cases.items():
    monkeypatch.setattr(tfds, 'builder', lambda name, data_dir=None, r=records: Builder(r))
    with pytest.raises(errors.DataError, match=message):
      tfds_source.load('fake')


def test_spreadsheet_groups_csv_and_unicode_names(tmp_path):
  """groups.csv saved with a UTF-8 byte-order mark, naming a class folder in another Unicode
  normal form (NFC in the CSV, NFD on disk) than the folder's: both read as the same file."""
  import unicodedata
  rng = np.random.default_rng(1)
  nfd = unicodedata.normalize('NFD', 'lésion')
  _png(str(tmp_path / 'cyst' / 'a.png'), rng.integers(0, 256, (16, 16), dtype=np.uint8))
  _png(str(tmp_path / nfd / 'b.png'), rng.integers(0, 256, (16, 16), dtype=np.uint8))
  text = 'file,group\ncyst/a.png,p1\n' + unicodedata.normalize('NFC', 'lésion') + '/b.png,p2\n'
  (tmp_path / 'groups.csv').write_bytes(b'\xef\xbb\xbf' + text.encode('utf-8'))
  ds = files.load_folder(str(tmp_path))
  assert len(ds) == 2 and sorted(ds.groups.tolist()) == [0, 1]


def test_twelve_bit_and_non_square_pngs_are_reported(tmp_path, caplog):
  twelve = (np.arange(16 * 16).reshape(16, 16) * 16).astype(np.uint16)   # max 4080
  _png(str(tmp_path / 'ct.png'), twelve)
  _png(str(tmp_path / 'wide.png'), np.full((16, 32), 128, np.uint8))
  full = (np.arange(16 * 16).reshape(16, 16) * 250).astype(np.uint16)    # max 63750
  _png(str(tmp_path / 'full.png'), full)
  with caplog.at_level('WARNING'):
    files.read_image(str(tmp_path / 'full.png'))
  assert not caplog.records
  with caplog.at_level('WARNING'):
    img = files.read_image(str(tmp_path / 'ct.png'))
  assert 'values up to 4080 (12-bit data?)' in caplog.text and img.max() < 0.07
  with caplog.at_level('WARNING'):
    files.read_image(str(tmp_path / 'wide.png'))
  assert '16x32 image resized to 64x64 changes its aspect ratio' in caplog.text


def test_npz_with_byte_string_classes_or_text_diameters(tmp_path):
  rng = np.random.default_rng(2)
  images = rng.uniform(size=(4, 16, 16)).astype(np.float32)
  labels = np.array([0, 1, 0, 1])
  np.savez(tmp_path / 'b.npz', images=images, labels=labels,
           classes=np.array([b'cyst', b'hemangioma']))
  assert files.load_npz(str(tmp_path / 'b.npz')).classes == ('cyst', 'hemangioma')
  np.savez(tmp_path / 's.npz', images=images, labels=labels,
           diameter_px=np.array(['10', '12', '9', '30']))
  with pytest.raises(errors.DataError, match='"diameter_px" must be numbers'):
    files.load_npz(str(tmp_path / 's.npz'))
