"""The learning curve's report: learning_curve.md and .html beside learning_curve.json, with each
fraction's own report one folder down."""

from __future__ import annotations

import os

from liverjax.base import errors, workdir as wd
from liverjax.report import figures, html
from liverjax.report.markdown import _pct, table


def build_markdown(workdir: str) -> str:
  """Returns the learning curve's report as Markdown (and writes its figure)."""
  curve = wd.read_json(os.path.join(workdir, 'learning_curve.json'))
  if curve is None:
    raise errors.WorkdirError(f'{workdir}: no learning_curve.json (is it a finished learning '
                              'curve?)')
  fig_dir = os.path.join(workdir, 'figures')
  if wd.is_writer():
    os.makedirs(fig_dir, exist_ok=True)
  arms = curve['arms']
  rows = [[f'{100 * p["fraction"]:g}%', ' / '.join(map(str, p['train_rois_per_fold']))] +
          [_pct(p['arms'][a]['accuracy']) if a in p['arms'] else '' for a in arms] +
          [f'[{p["workdir"]}]({p["workdir"]}/report.md)'] for p in curve['points']]
  diffs = [[f'{100 * p["fraction"]:g}%', arm, f'{100 * d["mean_diff"]:+.1f} '
            f'[{100 * d["ci95"][0]:+.1f}, {100 * d["ci95"][1]:+.1f}]', str(d['n'])]
           for p in curve['points'] for arm, d in p['vs_classic'].items()]
  scaled = ('Images added per class (synthetic and the oracle\'s fresh ROIs) scale with the '
            'share; classic set sizes do not.' if curve['scale_added'] else
            'Images added per class and classic set sizes are the same at every share.')
  lines = ['# liverjax learning curve', '',
           'Each row is one classifier experiment on a share of each training fold\'s patients '
           '(whole patients, per class, nested: a smaller share keeps a subset of a larger '
           'one\'s; the test folds are the same in every row). GANs train on the kept ROIs '
           f'only. {scaled} Accuracy in %: mean over folds with a 95% interval.', '']
  lines += table(['share', 'training ROIs per fold'] + arms + ['report'], rows)
  lines += [f'![learning curve]({figures.plot_learning_curve(curve, fig_dir)})', '']
  if diffs:
    lines += ['## Against classic augmentation (paired over folds, points)', '']
    lines += table(['share', 'arm', 'difference', 'folds'], diffs)
  return '\n'.join(lines) + '\n'


def write(workdir: str) -> str:
  """Writes learning_curve.md and learning_curve.html (process 0); returns the Markdown path."""
  return html.write_pair(workdir, 'learning_curve', build_markdown)
