"""``config.data`` -> the data set it names (source = phantom | folder | npz | tfds)."""

from __future__ import annotations

from liverjax.datasets import files, phantom
from liverjax.datasets.dataset import DataError, Dataset


def load(cfg) -> Dataset:
  """Returns the data set that config.data names; raises DataError for a bad source or input."""
  src = cfg.source
  if src == 'phantom':
    p = cfg.phantom
    return phantom.load_phantom(p.counts, p.seed, **phantom.settings(p))
  if src in ('folder', 'npz', 'tfds') and not cfg.path:
    raise DataError(f'config.data.path is empty; data.source={src} needs a path')
  if src == 'folder':
    return files.load_folder(cfg.path)
  if src == 'npz':
    return files.load_npz(cfg.path)
  if src == 'tfds':
    from liverjax.datasets import tfds_source  # local: imports tensorflow_datasets (slow).
    return tfds_source.load(cfg.path, data_dir=cfg.get('tfds_data_dir') or None)
  raise DataError(f'config.data.source={src!r}: expected phantom, folder, npz or tfds')
