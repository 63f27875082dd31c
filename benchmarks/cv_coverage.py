"""How often the corrected and the plain t intervals over cross-validation splits cover a null
difference, for k folds x R repeats (docs/decisions/inference_by_design.md).

  python benchmarks/cv_coverage.py [--experiments=2000] [--out=benchmarks/cv_coverage.json]

Two arms of equal true accuracy by symmetry (nearest-centroid classifiers, each on its own two
Gaussian features with the same class separation), 120 ROIs, every split training both arms on
the project's grouped, stratified folds (liverjax.datasets.splits, one ROI per group).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from liverjax.datasets import splits  # noqa: E402
from liverjax.evaluation import inference  # noqa: E402


def correct(x_train, y_train, x_test, y_test):
  w0, w1 = (y_train == 0) / np.sum(y_train == 0), (y_train == 1) / np.sum(y_train == 1)
  m0, m1 = (np.einsum('n,...nf->...f', w, x_train) for w in (w0, w1))
  w = m1 - m0
  b = -np.sum((m0 + m1) * w, -1) / 2
  return (np.einsum('...nf,...f->...n', x_test, w) + b[..., None] > 0) == (y_test == 1)


def coverage(k: int, repeats: int, experiments: int, seed: int = 0) -> dict:
  rng = np.random.default_rng(seed)
  y = np.repeat([0, 1], 60)
  folds = splits.experiment_folds(y, np.arange(len(y)), {}, k, 0, repeats=repeats)
  x = rng.normal(size=(experiments, len(y), 4)) + (2 * y - 1)[:, None] * 0.5 / np.sqrt(2)
  d = np.stack([np.mean(correct(x[:, tr, :2], y[tr], x[:, te, :2], y[te]), -1) -
                np.mean(correct(x[:, tr, 2:], y[tr], x[:, te, 2:], y[te]), -1)
                for tr, te in folds], 1)
  ratio = float(np.mean([len(te) / len(tr) for tr, te in folds]))
  out = {'folds': k, 'repeats': repeats, 'experiments': experiments}
  for name, design in (('corrected', inference.Design.cv(k, repeats, ratio)),
                       ('plain', inference.Design.replicates(k * repeats))):
    cis = [inference.paired(e, 0 * e, design)['ci95'] for e in d]
    out[name] = float(np.mean([lo <= 0 <= hi for lo, hi in cis]))
  return out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--experiments', type=int, default=2000)
  parser.add_argument('--out', default=os.path.join(os.path.dirname(__file__), 'cv_coverage.json'))
  args = parser.parse_args()
  rows = [coverage(k, r, args.experiments) for k, r in ((3, 1), (3, 5), (3, 10), (5, 1),
                                                        (10, 10))]
  for r in rows:
    print(f'{r["folds"]} folds x {r["repeats"]} repeats: corrected {100 * r["corrected"]:.1f}%, '
          f'plain {100 * r["plain"]:.1f}% of {r["experiments"]} null experiments cover 0')
  with open(args.out, 'w') as f:
    json.dump(rows, f, indent=1)


if __name__ == '__main__':
  main()
