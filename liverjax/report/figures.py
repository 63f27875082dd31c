"""The report's figures, drawn from the workdir's files: accuracy against set size for each
sweep, and a t-SNE of classifier features (``features/tsne.npz``)."""

from __future__ import annotations

import os

import matplotlib
import numpy as np

from liverjax.base import workdir as wd

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def _savefig(fig, path: str) -> None:
  """Writes a matplotlib figure as PNG atomically (process 0 only) and closes it."""
  if wd.is_writer():
    tmp = f'{path}.tmp{os.getpid()}.png'
    fig.savefig(tmp)
    os.replace(tmp, path)
  plt.close(fig)


def _sweep_label(arm: str) -> str:
  if arm == 'trtr':
    return 'classic variants per class (the training set, TRTR)'
  if arm.startswith('tstr_'):
    return f'{arm[5:].upper()} images per class (the whole training set, TSTR)'
  return f'{"fresh real ROIs" if arm == "real" else arm.upper()} images added per class'


def plot_sweeps(results: dict, fig_dir: str) -> list[str]:
  """Writes the sweep curves of arms with two sizes or more as PNG (a one-size sweep is a table
  row, :func:`liverjax.report.markdown.sweeps`); returns their paths relative to the workdir."""
  out = []
  arms = results['arms']
  panels = [('classic', 'classic augmented set size (images per fold)', 'sweep_classic.png')]
  panels += [(a, _sweep_label(a), f'sweep_{a}.png') for a in arms if a not in ('none', 'classic')]
  for arm, xlabel, name in panels:
    if arm not in arms or len(arms[arm].get('sweep', {})) < 2:
      continue
    sweep = arms[arm]['sweep']
    sizes = sorted(int(s) for s in sweep)
    mean = [100 * sweep[str(s)]['accuracy']['mean'] for s in sizes]
    lo = [100 * sweep[str(s)]['accuracy']['ci95'][0] for s in sizes]
    hi = [100 * sweep[str(s)]['accuracy']['ci95'][1] for s in sizes]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    ax.errorbar(sizes, mean, yerr=[np.subtract(mean, lo), np.subtract(hi, mean)], fmt='o-',
                capsize=3, label=arm)
    if len(sizes) > 2 and sizes[-1] > 10 * max(sizes[0], 1):
      ax.set_xscale('log')
    for ref, style in (('none', ':'), ('classic', '--')):
      if ref in arms and ref != arm:
        ax.axhline(100 * arms[ref]['accuracy']['mean'], ls=style, color='grey',
                   label=f'{ref} ({100 * arms[ref]["accuracy"]["mean"]:.1f}%)')
    ax.set_xlabel(xlabel)
    ax.set_ylabel('accuracy (%), mean and 95% CI')
    ax.legend(fontsize=8)
    fig.tight_layout()
    _savefig(fig, os.path.join(fig_dir, name))
    out.append(os.path.join('figures', name))
  return out


def plot_tsne(workdir: str, classes: list[str]) -> tuple[str, str] | None:
  """Writes figures/tsne.png from features/tsne.npz (None if absent); returns (path relative to
  the workdir, caption). scikit-learn's exact t-SNE with a fixed seed: the same figure each time
  on one machine."""
  from sklearn.manifold import TSNE
  path = os.path.join(workdir, 'features', 'tsne.npz')
  if not os.path.exists(path):
    return None
  with np.load(path) as z:
    feats, labels, source, name = z['features'], z['labels'], z['source'], str(z['classifier'])
  perplexity = min(30.0, (len(feats) - 1) / 3)
  y = TSNE(n_components=2, perplexity=perplexity, method='exact', init='pca',
           random_state=0).fit_transform(np.asarray(feats, np.float64))
  fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
  kinds = ['real'] + sorted(set(source.tolist()) - {'real'})
  markers = dict(zip(kinds, 'ox+^v'))
  for c, cname in enumerate(classes):
    for kind in kinds:
      m = (labels == c) & (source == kind)
      if m.any():
        ax.scatter(y[m, 0], y[m, 1], s=14, marker=markers[kind], color=f'C{c}',
                   label=f'{cname} ({kind})')
  ax.legend(fontsize=7)
  ax.set_xticks([])
  ax.set_yticks([])
  fig.tight_layout()
  _savefig(fig, os.path.join(workdir, 'figures', 'tsne.png'))
  caption = (f't-SNE of the penultimate-layer features of the `{name}` classifier: the real test '
             f'ROIs of fold 0 (o) and up to 60 synthetic images per class of each generator arm '
             f'({", ".join(f"{k}: {markers[k]}" for k in kinds[1:]) or "none"}).')
  return os.path.join('figures', 'tsne.png'), caption


def plot_learning_curve(curve: dict, fig_dir: str) -> str:
  """Writes accuracy against the share of training patients kept, one line per arm with 95%
  intervals (learning_curve.json); returns its path relative to the workdir."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=100)
  fractions = [p['fraction'] for p in curve['points']]
  for i, arm in enumerate(curve['arms']):
    pts = [(p['fraction'], p['arms'][arm]['accuracy']) for p in curve['points']
           if arm in p['arms']]
    x = np.asarray([f for f, _ in pts]) * (1 + 0.012 * (i - len(curve['arms']) / 2))   # dodge
    mean = np.asarray([100 * a['mean'] for _, a in pts])
    lo = np.asarray([100 * a['ci95'][0] for _, a in pts])
    hi = np.asarray([100 * a['ci95'][1] for _, a in pts])
    ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt='o-', capsize=3, label=arm)
  ax.set_xticks(fractions, [f'{100 * f:g}%' for f in fractions])
  ax.set_xlabel("share of each training fold's patients")
  ax.set_ylabel('accuracy (%), mean and 95% CI')
  ax.legend(fontsize=8)
  fig.tight_layout()
  _savefig(fig, os.path.join(fig_dir, 'learning_curve.png'))
  return os.path.join('figures', 'learning_curve.png')


PRDC = ('precision', 'recall', 'density', 'coverage')


def plot_prdc(results: dict, fig_dir: str) -> str | None:
  """Writes figures/prdc.png: per metric (panels) a bar for each pool and class (synthetic_quality's
  means over folds), its real reference as a black tick; returns its path relative to the
  workdir (None without synthetic_quality)."""
  q = results.get('synthetic_quality')
  rows = [(f'{pool}\n{c}', m) for pool, r in (q or {}).items() for c, m in r['per_class'].items()]
  if not rows:
    return None
  fig, axes = plt.subplots(1, len(PRDC), figsize=(3 + 0.5 * len(rows) * len(PRDC), 3.2),
                           dpi=100, sharey=True)
  x = np.arange(len(rows))
  for ax, metric in zip(axes, PRDC):
    ax.bar(x, [100 * m[metric]['synthetic'] for _, m in rows], 0.7,
           color=[f'C{i % 10}' for i in range(len(rows))])
    ax.scatter(x, [100 * m[metric]['real'] for _, m in rows], marker='_', s=300, color='black',
               zorder=3, label='real reference')
    ax.set_title(metric)
    ax.set_xticks(x, [label for label, _ in rows], fontsize=6)
  axes[0].set_ylabel('% (density can exceed 100)')
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  _savefig(fig, os.path.join(fig_dir, 'prdc.png'))
  return os.path.join('figures', 'prdc.png')


def plot_c2st_roc(results: dict, fig_dir: str) -> str | None:
  """Writes figures/c2st_roc.png: per pool (panels) each class's C2ST ROC curve (out-of-fold
  scores pooled within a fold, then averaged over folds; solid) beside its real reference's
  (dashed); returns its path relative to the workdir (None without curves)."""
  q = {pool: {c: m['c2st']['roc'] for c, m in r['per_class'].items()
              if (m['c2st'].get('roc') or {}).get('synthetic')}
       for pool, r in (results.get('synthetic_quality') or {}).items()}
  q = {pool: curves for pool, curves in q.items() if curves}
  if not q:
    return None
  fig, axes = plt.subplots(1, len(q), figsize=(3.2 * len(q), 3.3), dpi=100, squeeze=False)
  for ax, (pool, curves) in zip(axes[0], q.items()):
    ax.plot([0, 1], [0, 1], ':', color='grey', lw=1)
    for i, (cname, roc) in enumerate(curves.items()):
      ax.plot(roc['synthetic']['fpr'], roc['synthetic']['tpr'], color=f'C{i}', label=cname)
      if roc.get('real'):
        ax.plot(roc['real']['fpr'], roc['real']['tpr'], '--', color=f'C{i}', lw=1)
    ax.set_title(f'{pool} (dashed: real reference)', fontsize=9)
    ax.set_xlabel('false-positive rate (real called synthetic)', fontsize=8)
    ax.set_aspect('equal')
  axes[0][0].set_ylabel('true-positive rate', fontsize=8)
  axes[0][0].legend(fontsize=7, loc='lower right')
  fig.tight_layout()
  _savefig(fig, os.path.join(fig_dir, 'c2st_roc.png'))
  return os.path.join('figures', 'c2st_roc.png')
