"""The experiment's report: report.md and report.html in the workdir, with PNG figures.

Sections: data and config; the arms table (accuracy, sensitivity and specificity, macro and micro,
95% intervals); paired tests between arms; the sweep curves (accuracy vs classic-set size,
accuracy vs synthetic images per class); confusion matrices; real vs DCGAN vs ACGAN sample grids
per class (fold 0, fixed noise); GAN diversity and class fidelity; a t-SNE of the classifier's
penultimate features for real test ROIs and synthetic images (as the paper's figure). Everything
is read from results.json, the run records and the checkpoints, so the report can be rebuilt
without training.
"""

from __future__ import annotations

import html
import os

import jax.numpy as jnp
import numpy as np

from liverjax import tsne, workdir as wd

METRICS = (('accuracy', 'accuracy'), ('sensitivity_macro', 'sens. macro'),
           ('specificity_macro', 'spec. macro'), ('sensitivity_micro', 'sens. micro'),
           ('specificity_micro', 'spec. micro'))


def _pct(m: dict) -> str:
  return f'{100 * m["mean"]:.1f} [{100 * m["ci95"][0]:.1f}, {100 * m["ci95"][1]:.1f}]'


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
  return (['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] +
          ['| ' + ' | '.join(r) + ' |' for r in rows] + [''])


def _savefig(fig, path: str) -> None:
  """Writes a matplotlib figure as PNG atomically (process 0 only) and closes it."""
  import matplotlib.pyplot as plt
  if wd.is_writer():
    tmp = f'{path}.tmp{os.getpid()}.png'
    fig.savefig(tmp)
    os.replace(tmp, path)
  plt.close(fig)


def _plot_sweeps(results: dict, fig_dir: str) -> list[str]:
  """Writes the sweep curves as PNG; returns their paths relative to the workdir."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  out = []
  arms = results['arms']
  panels = [('classic', 'classic augmented set size (images per fold)', 'sweep_classic.png')]
  panels += [(a, f'{a.upper()} images added per class', f'sweep_{a}.png')
             for a in ('dcgan', 'acgan') if a in arms]
  for arm, xlabel, name in panels:
    if arm not in arms or 'sweep' not in arms[arm]:
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


def _plot_tsne(exp, results: dict, fig_dir: str) -> tuple[str, str] | None:
  """Writes a t-SNE of penultimate features (fold 0, first seed); returns (path, caption)."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  from liverjax import experiment
  cfg, ds = exp.config, exp.ds
  gan_arms = [a for a in cfg.arms if a in experiment.GAN_ARMS]
  arm = gan_arms[0] if gan_arms else cfg.arms[-1]
  size, seed, fold = results['arms'][arm]['size'], cfg.seeds[0], 0
  name = experiment.run_name(arm, size, seed, fold)
  step, state = exp.load_classifier(name)
  if step is None:
    return None
  test_idx = exp.folds[fold][1]
  images = [np.asarray(ds.images[test_idx])]
  labels = [ds.labels[test_idx]]
  synthetic = [np.zeros(len(test_idx), bool)]
  for kind in gan_arms:
    gen_images, gen_labels = exp.pool(kind, fold)
    gen_labels = np.asarray(gen_labels)
    pick = np.concatenate([np.flatnonzero(gen_labels == c)[:60] for c in range(len(ds.classes))])
    images.append(np.asarray(gen_images)[pick])
    labels.append(gen_labels[pick])
    synthetic.append(np.ones(len(pick), bool))
  images, labels, synthetic = map(np.concatenate, (images, labels, synthetic))
  _, feats = exp.predict_features_fn(state, jnp.asarray(images))
  y = tsne.tsne(np.asarray(feats), seed=0)
  fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=100)
  for c, cname in enumerate(ds.classes):
    for syn, marker in ((False, 'o'), (True, 'x')):
      m = (labels == c) & (synthetic == syn)
      if m.any():
        ax.scatter(y[m, 0], y[m, 1], s=14, marker=marker, color=f'C{c}',
                   label=f'{cname} ({"synthetic" if syn else "real"})')
  ax.legend(fontsize=7)
  ax.set_xticks([])
  ax.set_yticks([])
  fig.tight_layout()
  _savefig(fig, os.path.join(fig_dir, 'tsne.png'))
  caption = (f't-SNE of the penultimate-layer features of the `{name}` classifier: the real test '
             f'ROIs of fold 0 (o) and up to 60 synthetic images per class of each GAN arm (x).')
  return os.path.join('figures', 'tsne.png'), caption


def markdown(exp, results: dict) -> str:
  """Returns the report as Markdown (and writes the figures it links to)."""
  cfg, ds = exp.config, exp.ds
  fig_dir = os.path.join(exp.workdir, 'figures')
  os.makedirs(fig_dir, exist_ok=True)
  lines = ['# liverjax report', '']
  lines += [f'Data: `{ds.source}`, {len(ds)} ROIs, classes {", ".join(ds.classes)} with counts '
            f'{ds.class_counts()}, {len(np.unique(ds.groups))} groups (patients/lesions). '
            f'{cfg.folds}-fold cross-validation grouped by patient, seeds {list(cfg.seeds)}: '
            f'{len(cfg.seeds) * cfg.folds} runs per arm and size. Config: `config.json` in this '
            'folder.', '',
            'Numbers are percentages: mean over (fold, seed) runs and a Student-t 95% interval. '
            'The paper\'s headline *specificity* (88.4% classic, 92.4% DCGAN) is the **macro** '
            'average; its headline *sensitivity* equals accuracy, i.e. the **micro** average. '
            'Arm sizes were picked by best mean test accuracy over each sweep, as in the paper '
            '(optimistic).', '']
  lines += ['## Arms', '']
  rows = []
  for arm, r in results['arms'].items():
    rows.append([arm, str(r.get('size', 0))] + [_pct(r[m]) for m, _ in METRICS] +
                [str(r['accuracy']['n'])])
  lines += _table(['arm', 'size'] + [label for _, label in METRICS] + ['runs'], rows)
  if results.get('paired_accuracy'):
    lines += ['## Paired comparisons (accuracy, same folds and seeds)', '']
    rows = [[k.replace('_vs_', ' vs '), f'{100 * p["mean_diff"]:+.1f} '
             f'[{100 * p["ci95"][0]:+.1f}, {100 * p["ci95"][1]:+.1f}]', f'{p["p_ttest"]:.3g}',
             f'{p["p_permutation"]:.3g}', str(p['n'])]
            for k, p in results['paired_accuracy'].items()]
    lines += _table(['comparison', 'difference (points)', 'p (paired t)', 'p (sign-flip)',
                     'pairs'], rows)
    lines += ['Folds share training images, so runs are not independent: read the p-values as '
              'approximate (optimistic).', '']
  sweeps = _plot_sweeps(results, fig_dir)
  if sweeps:
    lines += ['## Sweeps', ''] + [f'![{os.path.basename(p)}]({p})' for p in sweeps] + ['']
  lines += ['## Confusion matrices (summed over folds and seeds; rows = true class)', '']
  for arm, r in results['arms'].items():
    lines += [f'**{arm}** (size {r.get("size", 0)})', '']
    lines += _table(['true \\ predicted'] + list(ds.classes),
                    [[ds.classes[i]] + [str(v) for v in row]
                     for i, row in enumerate(r['confusion'])])
  kinds = [k for k in ('dcgan', 'acgan') if k in cfg.arms]
  if kinds:
    lines += ['## Samples (fold 0, fixed noise)', '']
    header = ['class', 'real (training ROIs)'] + [k.upper() for k in kinds]
    rows = []
    for cname in ds.classes:
      row = [cname, f'![real](figures/{kinds[0]}_fold0/real_{cname}.png)']
      row += [f'![{k}](figures/{k}_fold0/{cname}.png)' for k in kinds]
      rows.append(row)
    lines += _table(header, rows)
  if results.get('gan_diversity'):
    lines += ['## GAN sample diversity', '',
              'Mean RMS difference between generated images of a class, as a percentage of that '
              'between its real training ROIs; below the threshold a generator counts as '
              'collapsed (near-identical images) or partly collapsed (a few images repeated), '
              'and its arm should not be trusted. Grid: spectral power at 2- and 4-pixel periods '
              '(checkerboard / fine-grid artifacts of strided convolutions) as a multiple of the '
              'real ROIs\' (1x = as clean as the real images; a diagnostic, not a flag).', '']
    collapsed = results.get('collapsed_generators') or []
    if collapsed:
      lines += [f'**Warning: collapsed generator(s): {", ".join(collapsed)}.** Their synthetic '
                'images were used by the arm above; its numbers measure those images, not a '
                'working GAN.', '']
    rows = [[pool, c, f'{100 * v["ratio"]:.0f}%', f'{100 * v["threshold"]:.0f}%',
             'COLLAPSED' if v['collapsed'] else 'ok',
             f'{v["grid"]["ratio"]:.1f}x']
            for pool, d in results['gan_diversity'].items() for c, v in d.items()]
    lines += _table(['GAN', 'class', 'diversity vs real', 'threshold', 'status', 'grid vs real'],
                    rows)
  if results.get('gan_fidelity'):
    lines += ['## GAN class fidelity ("GAN-test")', '',
              'Share of each class\'s synthetic images that a classifier trained on real images '
              'only assigns to that class, beside that classifier\'s sensitivity on the real test '
              'ROIs (mean over folds). The classifier of each fold is the classic run the GAN arm '
              f'builds on (classic set of {exp.config.synthetic.classic_size}, seed '
              f'{exp.config.seeds[0]}). Far below the real figure: the synthetic images lack what '
              'the classifier recognises the class by. Near or above it: recognisable, which alone '
              'does not make them realistic or varied (see the diversity table above). Where the '
              'real figure itself is low, the classifier cannot tell that class and its row says '
              'little. After Shmelkov et al. 2018, "How good is my GAN?".', '']
    rows = [[kind, c, f'{100 * v["synthetic"]:.0f}%', f'{100 * v["real_test"]:.0f}%']
            for kind, f in results['gan_fidelity'].items() for c, v in f['per_class'].items()]
    lines += _table(['GAN', 'class', 'synthetic images assigned to it', 'real test sensitivity'],
                    rows)
  t = _plot_tsne(exp, results, fig_dir)
  if t is not None:
    lines += ['## t-SNE of classifier features', '', f'![t-SNE]({t[0]})', '', t[1], '']
  return '\n'.join(lines) + '\n'


def to_html(md: str) -> str:
  """Returns a standalone HTML rendering of the report's Markdown subset."""
  import re
  out = ['<!doctype html><html><head><meta charset="utf-8"><title>liverjax report</title>',
         '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:'
         'collapse}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}</style>',
         '</head><body>']

  def inline(s):
    s = html.escape(s)
    s = re.sub(r'!\[([^\]]*)\]\(([^)]+)\)', r'<img alt="\1" src="\2">', s)
    s = re.sub(r'\*\*([^*]+)\*\*', r'<b>\1</b>', s)
    s = re.sub(r'\*([^*]+)\*', r'<i>\1</i>', s)
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', s)

  lines = md.splitlines()
  i = 0
  while i < len(lines):
    line = lines[i]
    if line.startswith('#'):
      level = len(line) - len(line.lstrip('#'))
      out.append(f'<h{level}>{inline(line[level:].strip())}</h{level}>')
    elif line.startswith('|'):
      rows = []
      while i < len(lines) and lines[i].startswith('|'):
        if not set(lines[i]) <= set('|-'):
          rows.append([c.strip() for c in lines[i].strip('|').split('|')])
        i += 1
      out.append('<table>' + ''.join(
          '<tr>' + ''.join(f'<{"th" if r == 0 else "td"}>{inline(c)}</{"th" if r == 0 else "td"}>'
                           for c in row) + '</tr>' for r, row in enumerate(rows)) + '</table>')
      continue
    elif line.strip():
      out.append(f'<p>{inline(line)}</p>')
    i += 1
  out.append('</body></html>')
  return '\n'.join(out) + '\n'


def write(exp, results: dict) -> str:
  """Writes report.md and report.html into the workdir; returns the Markdown path."""
  md = markdown(exp, results)
  wd.write_text(os.path.join(exp.workdir, 'report.html'), to_html(md))
  return wd.write_text(os.path.join(exp.workdir, 'report.md'), md)
