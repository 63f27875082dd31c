"""The experiment's report: report.md and report.html in the workdir, with PNG figures.

Sections: data and config; the verdict (each arm that adds images against classic augmentation);
a warning for arms whose classifiers ended below 90% training accuracy;
the arms table (accuracy, sensitivity and specificity, macro and micro, 95% intervals); the
phantom's ceiling beside them, where ``ceiling.json`` exists (:mod:`liverjax.tools.ceiling`); paired
tests between arms; the sweeps (a table, and curves where an arm has two sizes or more) (accuracy vs classic-set size,
accuracy vs synthetic images per class); confusion matrices; real vs DCGAN vs ACGAN sample grids
per class (fold 0, fixed noise); GAN diversity and class fidelity; the share of the oracle's
gain each generator arm recovers; train on synthetic, test on real (TSTR) beside TRTR; every pool's quality beside real data (:mod:`~liverjax.report.quality`), with
precision/recall/density/coverage bars and C2ST ROC curves; a t-SNE of the classifier's
penultimate features for real test ROIs and synthetic images (as the paper's figure); the visual
Turing test's statistics, where ``turing/turing.json`` exists (:mod:`liverjax.tools.turing`).

Everything is read from the workdir's files (config.json, data.json, results.json,
features/tsne.npz, the figures the experiment wrote), so a finished run's report is rebuilt
without training: ``python -m liverjax.report --workdir=W``.
"""

from __future__ import annotations

import os

from liverjax.base import errors, workdir as wd
from liverjax.report import figures, html, markdown, quality, turing


def _read(workdir: str, name: str) -> dict:
  value = wd.read_json(os.path.join(workdir, name))
  if value is None:
    raise errors.WorkdirError(f'{workdir}: no {name} (is it a finished classifier experiment?)')
  return value


def build_markdown(workdir: str) -> str:
  """Returns the report of a finished experiment as Markdown (and writes its figures)."""
  config, data, results = (_read(workdir, n) for n in ('config.json', 'data.json',
                                                       'results.json'))
  fig_dir = os.path.join(workdir, 'figures')
  if wd.is_writer():
    os.makedirs(fig_dir, exist_ok=True)
  lines = markdown.header(config, data, results) + markdown.verdict(results)
  lines += markdown.training_fit(results)
  lines += markdown.arms(results)
  lines += quality.headroom(results, wd.read_json(os.path.join(workdir, 'ceiling.json')))
  lines += markdown.sweeps(results)
  lines += [f'![{os.path.basename(p)}]({p})' for p in figures.plot_sweeps(results, fig_dir)]
  lines += ['']
  lines += markdown.confusion(results) + markdown.samples(config, results['classes'])
  lines += markdown.diversity(results) + markdown.fidelity(config, results)
  lines += quality.oracle_share(results) + quality.tstr(results)
  lines += quality.synthetic_quality(results, workdir)
  prdc = figures.plot_prdc(results, fig_dir)
  if prdc:
    lines += markdown.figure('Precision, recall, density, coverage', prdc,
                             'Each pool and class (bars, mean over folds) beside its real '
                             'reference (black ticks): the fold\'s real test ROIs scored the same '
                             'way, in the same features.')
  roc = figures.plot_c2st_roc(results, fig_dir)
  if roc:
    lines += markdown.figure('C2ST ROC curves', roc,
                             'Telling each pool\'s images (solid) or the real reference (dashed: '
                             'training vs test ROIs) from real test ROIs in the classifier\'s '
                             'features; the diagonal is indistinguishable. With few real test '
                             'ROIs per class and fold the curves are coarse (per-fold AUC '
                             'intervals: results.json).')
  tsne = figures.plot_tsne(workdir, results['classes'])
  if tsne is not None:
    lines += markdown.figure('t-SNE of classifier features', *tsne)
  lines += turing.from_workdir(workdir)
  return '\n'.join(lines) + '\n'


def write(workdir: str) -> str:
  """Writes report.md and report.html into the workdir (process 0); returns the Markdown path."""
  return html.write_pair(workdir, 'report', build_markdown)
