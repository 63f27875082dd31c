"""TFDS builders for liverjax data, readable without TensorFlow.

Two builders, both storing ``image`` as ``tfds.features.Tensor`` (64, 64, 1) float32 (TFDS's
``Image`` feature needs TensorFlow to encode), ``label`` as ``ClassLabel``, ``group`` and
``diameter_px``, in ``array_record`` files so that ``tfds.data_source`` serves them by random access:

- ``liverjax_phantom``: the embedded phantom (the paper's counts, seed 0);
- ``liverjax_folder``: a users' folder of class folders
  (:func:`liverjax.datasets.files.load_folder`), passed as ``prepare(..., folder=...)`` (not
  TFDS ``manual_dir``: the class names must be known when the builder describes its features);
  read it back from the directory ``prepare`` returns.

    from liverjax.datasets import tfds_source
    tfds_source.prepare('liverjax_phantom', data_dir='/tmp/tfds')
    source = tfds.data_source('liverjax_phantom', data_dir='/tmp/tfds')['train']

``config.data.source=tfds`` with ``config.data.path=liverjax_phantom`` (prepared under
``config.data.tfds_data_dir``) or the directory :func:`prepare` returned loads through :func:`load`.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from liverjax.datasets import files, phantom
from liverjax.datasets.dataset import DataError, Dataset, from_arrays


def _features(class_names) -> tfds.features.FeaturesDict:
  return tfds.features.FeaturesDict({
      'image': tfds.features.Tensor(shape=(64, 64, 1), dtype=np.float32),
      'label': tfds.features.ClassLabel(names=list(class_names)),
      'group': tfds.features.Scalar(dtype=np.int64),
      'diameter_px': tfds.features.Scalar(dtype=np.float32),
  })


def _examples(ds: Dataset):
  for i in range(len(ds)):
    yield i, {'image': ds.images[i].astype(np.float32), 'label': int(ds.labels[i]),
              'group': int(ds.groups[i]), 'diameter_px': np.float32(ds.diameter_px[i])}


class LiverjaxPhantom(tfds.core.GeneratorBasedBuilder):
  """The embedded procedural CT liver-lesion phantom (cyst, metastasis, hemangioma)."""
  VERSION = tfds.core.Version('2.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.', '2.0.0': 'Phantom version 2 (calibrated).'}

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(features=_features(phantom.CLASSES),
                                          supervised_keys=('image', 'label'))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples(phantom.load_phantom())}

  def _generate_examples(self, ds):
    yield from _examples(ds)


class LiverjaxFolder(tfds.core.GeneratorBasedBuilder):
  """A folder of class folders (root/<class>/*.png|*.npy [+ groups.csv]), given as `folder`.

  Class names come from the folder; read a prepared copy back with ``load(<its directory>)``
  (``tfds.builder_from_directory``), which needs neither the folder nor this class.
  """
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release.'}

  def __init__(self, *, folder: str, **kwargs):
    self._folder_data = files.load_folder(folder)
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(features=_features(self._folder_data.classes),
                                          supervised_keys=('image', 'label'))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples(self._folder_data)}

  def _generate_examples(self, ds):
    yield from _examples(ds)


def prepare(name: str, data_dir: str | None = None, folder: str | None = None) -> str:
  """Builds a liverjax TFDS data set as array_record files; returns its directory.

  name is 'liverjax_phantom', or 'liverjax_folder' with `folder` the root of class folders.
  """
  if name == 'liverjax_phantom':
    builder = LiverjaxPhantom(data_dir=data_dir, file_format='array_record')
  elif name == 'liverjax_folder':
    if not folder:
      raise DataError('liverjax_folder: needs folder=<root of class folders>')
    builder = LiverjaxFolder(folder=folder, data_dir=data_dir, file_format='array_record')
  else:
    raise DataError(f'tfds:{name}: unknown builder (liverjax_phantom or liverjax_folder)')
  builder.download_and_prepare()
  return str(builder.data_dir)


def load(name: str, data_dir: str | None = None, split: str = 'train') -> Dataset:
  """Returns a prepared TFDS data set (read with tfds.data_source) as a liverjax Dataset, through
  the checks every loader's input goes through (:func:`liverjax.datasets.dataset.from_arrays`:
  shapes, labels within the classes, values finite and in [0, 1], no duplicate images).

  `name` is a registered builder name (e.g. liverjax_phantom, found under data_dir) or the
  directory of a prepared data set (e.g. what prepare() returned for a folder).
  """
  import os
  try:
    if os.path.isdir(name):
      builder = tfds.builder_from_directory(name)
    else:
      builder = tfds.builder(name, data_dir=data_dir)
    source = builder.as_data_source(split=split)
  except Exception as e:
    raise DataError(f'tfds:{name}: cannot open ({type(e).__name__}: {e})'.replace('\n', ' '))
  n = len(source)
  if n == 0:
    raise DataError(f'tfds:{name}: split {split!r} is empty')
  records = [source[i] for i in range(n)]
  arrays = {'images': np.stack([r['image'] for r in records]),
            'labels': np.asarray([r['label'] for r in records]),
            'classes': np.asarray(builder.info.features['label'].names),
            'groups': np.asarray([r['group'] for r in records], np.int64),
            'diameter_px': np.asarray([r['diameter_px'] for r in records], np.float32)}
  return from_arrays(arrays, f'tfds:{name}', f'tfds:{name}')
