"""The visual Turing test's section, from W/turing/turing.json (written by
``python -m liverjax.tools.turing report``)."""

from __future__ import annotations

import math
import os

from liverjax.base import workdir as wd


def _pct(v) -> str:
  return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{100 * v:.1f}%'


def _num(v, digits: int = 2) -> str:
  return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.{digits}f}'


def _ci(s: dict, key: str, fmt) -> str:
  lo, hi = s.get('ci95', {}).get(key, (None, None))
  return fmt(s[key]) + (f' [{fmt(lo)}, {fmt(hi)}]' if lo is not None else '')


def section(stats: dict) -> list[str]:
  """Returns the section's Markdown lines."""
  study, pooled = stats['study'], stats['pooled']
  lines = ['## Visual Turing test', '',
           f'{len(stats["readers"])} reader(s) saw {study["n_real_per_class"]} real and '
           f'{study["n_synthetic_per_class"]} synthetic ({study["synthetic_source"]}) images per '
           f'class ({", ".join(study["asked_classes"])}), mixed, one at a time, each in their own '
           f'order; real images: {study["real_source"]}. Accuracy is telling real from synthetic '
           '(chance 50%; tested against it: per reader a binomial test, pooled a sign test over images); sensitivity: synthetic images called '
           'synthetic; specificity: real ones called real; AUC from the answer signed by its '
           'confidence. Class accuracy: the lesion named correctly, on real and on synthetic '
           'images (the paper\'s table). Readers saw the same images: the pooled row\'s 95% '
           'intervals resample images with all their answers.', '']
  if not pooled:
    return lines + ['No answers yet.', '']
  header = ['reader', 'answers', 'accuracy', 'p vs chance', 'sensitivity', 'specificity', 'AUC',
            'class acc. real', 'class acc. synthetic']
  rows = [[r, str(s['n']), _pct(s['accuracy']), _num(s['binomial_p'], 3), _pct(s['sensitivity']),
           _pct(s['specificity']), _num(s['auc']), _pct(s['class_accuracy_real']),
           _pct(s['class_accuracy_synthetic'])] for r, s in stats['per_reader'].items()]
  rows.append(['**pooled**', str(pooled['n']), _ci(pooled, 'accuracy', _pct),
               _num(pooled['sign_test_p'], 3), _pct(pooled['sensitivity']),
               _pct(pooled['specificity']), _ci(pooled, 'auc', _num),
               _ci(pooled, 'class_accuracy_real', _pct),
               _ci(pooled, 'class_accuracy_synthetic', _pct)])
  lines += ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(r) + ' |' for r in rows] + ['']
  agree = stats.get('agreement') or {}
  if agree.get('items'):
    pairs = '; '.join(f'{p}: {_num(k)}' for p, k in agree['cohen']['source'].items())
    lines += [f'Agreement on the {agree["items"]} images every reader answered: real vs synthetic '
              f'Fleiss kappa {_num(agree["fleiss"]["source"])} (Cohen: {pairs}); lesion class '
              f'Fleiss kappa {_num(agree["fleiss"]["class"])}.', '']
  return lines


def from_workdir(workdir: str) -> list[str]:
  """Returns the section if the workdir holds a reported study, else nothing."""
  stats = wd.read_json(os.path.join(workdir, 'turing', 'turing.json'))
  return section(stats) if stats else []
