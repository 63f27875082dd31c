"""Independent phantom cohorts for the replicates design (configs/benchmark.py).

One large test cohort, drawn once, and per replicate r a training cohort of the paper's regime,
each from its own patients and phantom seed (data.phantom.seed plus an offset):

  test cohort            seed + TEST_OFFSET          test_per_class ROIs per class
  replicate r's cohort   seed + TRAIN_OFFSET + r     train_counts ROIs per class, r < MAX_REPLICATES

The offsets keep every cohort apart from the phantom seeds the main job reports on and calibrates
on (0 and 1), from the oracle's fresh ROIs (data seed + oracle.seed_offset + split) and from the
ceiling's (4000, 5000). The data set holds the test cohort first, then the replicates' cohorts in
order; split r trains on its cohort and tests on the test cohort.
"""

from __future__ import annotations

import numpy as np

from liverjax.base.errors import ConfigError
from liverjax.datasets import phantom
from liverjax.datasets.dataset import Dataset

TRAIN_OFFSET, TEST_OFFSET, MAX_REPLICATES = 50000, 60000, 10000


def replicate_seed(seed: int, r: int) -> int:
  """Returns the phantom seed of replicate r's training cohort."""
  if not 0 <= r < MAX_REPLICATES:
    raise ConfigError(f'replicate {r}: replicates are numbered 0..{MAX_REPLICATES - 1}')
  return int(seed) + TRAIN_OFFSET + int(r)


def load(phantom_config, train_counts, test_per_class: int,
         replicates) -> tuple[Dataset, dict]:
  """Returns (data set, {r: (train_idx, test_idx)}) of the test cohort and the training cohorts
  of `replicates`, drawn with the phantom settings of phantom_config (patients renumbered so that
  no two cohorts share one)."""
  knobs = phantom.settings(phantom_config)
  seed = int(phantom_config.seed)
  k = len(train_counts)
  parts = [phantom.load_phantom((int(test_per_class),) * k, seed + TEST_OFFSET, **knobs)]
  parts += [phantom.load_phantom(tuple(train_counts), replicate_seed(seed, r), **knobs)
            for r in replicates]
  starts = np.cumsum([0] + [len(p) for p in parts])
  group_base = np.cumsum([0] + [int(p.groups.max()) + 1 for p in parts])
  test_idx = np.arange(len(parts[0]))
  folds = {int(r): (np.arange(starts[i + 1], starts[i + 2]), test_idx)
           for i, r in enumerate(replicates)}
  ds = Dataset(images=np.concatenate([p.images for p in parts]),
               labels=np.concatenate([p.labels for p in parts]), classes=parts[0].classes,
               groups=np.concatenate([p.groups + b for p, b in zip(parts, group_base)]),
               diameter_px=np.concatenate([p.diameter_px for p in parts]),
               source=f'phantom cohorts (seed={seed}, version={knobs["version"]}): test '
                      f'{len(parts[0])} ROIs, {len(replicates)} training cohorts of '
                      f'{sum(train_counts)}')
  return ds, folds
