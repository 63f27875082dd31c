"""The report's sections on synthetic images: how much of the oracle's gain each generator arm
recovers, a classifier trained on synthetic images only against one trained on real ones, and each
pool's quality beside real data (results.json ``oracle_share``, ``tstr`` and
``synthetic_quality``)."""

from __future__ import annotations

import os

from liverjax.report.markdown import _pct, table


RECALL_SHARE = 0.5   # below this share of the real reference's recall, a pool is warned of
COPY_ALPHA = 0.05    # a pool with more copies than new real ROIs at this one-sided level is warned of


def _diff(p: dict) -> str:
  return (f'{100 * p["mean_diff"]:+.1f} [{100 * p["ci95"][0]:+.1f}, '
          f'{100 * p["ci95"][1]:+.1f}]')


def oracle_share(results: dict) -> list[str]:
  """Returns the table of each generator arm's gain over classic beside the oracle's, at one
  size."""
  shares = results.get('oracle_share')
  if not shares:
    return []
  rows = [[arm, str(s['size']), _diff(s['gain']), _diff(s['oracle_gain']), _share(s)]
          for arm, s in shares.items()]
  failed = [arm for arm, s in shares.items() if s['share'] is None]
  control = ([f'**The oracle\'s gain is not above 0 by its interval** (beside {", ".join(failed)}):'
              ' this design could not show the gain of a perfect generator, so a null or '
              'negative result of a generator arm from it says nothing about the generator.', '']
             if failed else [])
  return (['## Share of the oracle\'s gain', '',
           'Each generator arm (GAN or diffusion) and the oracle (arm real: fresh phantom ROIs '
           'from new patients, what a perfect generator would give) at the same number of images '
           'per class, fixed in advance (the sweeps\' size nearest the paper\'s 1,000), against '
           'classic alone; points, paired over units; the share (arm - classic) / (oracle - '
           'classic) with its Fieller 95% interval.', ''] +
          table(['arm', 'per class', 'arm - classic', 'oracle - classic',
                  'share of the oracle\'s gain'], rows) + control)


def _share(s: dict) -> str:
  if s['share'] is None:
    return 'n/a: the oracle\'s gain is not above 0 by its interval (unbounded)'
  ci = s.get('share_ci95')
  return f'{100 * s["share"]:.0f}%' + (f' [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]' if ci else '')


def tstr_explanation(trained_on: str, images: str) -> str:
  """Returns what TSTR and TRTR are and how to read them, for a table of `trained_on`."""
  return (f'The classifier trained on {trained_on} only, tested on the fold\'s real test ROIs, '
          'beside the same classifier trained on as many classic variants of the real training '
          f'ROIs, with the same steps (TRTR). TSTR near TRTR: {images} carry what tells the '
          'classes apart; far below: they do not, however real they look.')


def tstr(results: dict) -> list[str]:
  """Returns the train-on-synthetic, test-on-real table (results.json ``tstr``)."""
  t = results.get('tstr')
  if not t:
    return []
  rows = [[arm, r['source'], size, f'{row["images"]:,}', _pct(row['tstr']),
           _pct(row['trtr']) if row['trtr'] else 'not run (add arm trtr)',
           _diff(row['paired']) if row['paired'] else '']
          for arm, r in t.items() for size, row in r['sizes'].items()]
  return (['## Train on synthetic, test on real (TSTR)', '',
           tstr_explanation('a generator arm\'s synthetic images', 'the synthetic images') +
           ' TRTR is arm trtr. Accuracy %, mean over folds [95% interval]; difference in points, '
           'paired over folds.', ''] +
          table(['arm', 'GAN', 'per class', 'images', 'TSTR', 'TRTR', 'TSTR - TRTR'], rows))


def _cell(m: dict, pct: bool = False, fmt: str = '.3g') -> str:
  f = (lambda v: 'n/a*' if v is None else f'{100 * v:.0f}%') if pct else (
      lambda v: 'n/a*' if v is None else f'{v:{fmt}}')
  return f'{f(m["synthetic"])} ({f(m["real"])})'


def synthetic_quality(results: dict, workdir: str = '') -> list[str]:
  """Returns the quality table: every pool and class, each figure beside its real reference;
  and the closest synthetic/training pairs of each pool where the experiment drew them."""
  q = results.get('synthetic_quality')
  if not q:
    return []
  rows, better, few, missing, copies = [], [], [], [], []
  for arm, r in q.items():
    for cname, m in r['per_class'].items():
      if m['c2st'].get('why'):
        missing.append(f'- n/a*: {arm}/{cname} C2ST: {m["c2st"]["why"]}.')
      if m['recall']['synthetic'] < RECALL_SHARE * m['recall']['real']:
        few.append(f'{arm}/{cname}')
      rows.append([arm, cname, _cell(m['fd']), _cell(m['kid'])] +
                  [_cell(m[k], pct=True) for k in ('precision', 'recall', 'density',
                                                   'coverage')] +
                  [_cell(m['memorised_pixels'], pct=True),
                   _cell(m['memorised_features'], pct=True)] +
                  [_cell(m[k], pct=True) if k in m else 'not measured'
                   for k in ('copies_pixels', 'copies_features')] +
                  [_cell(m['c2st'], fmt='.2f')])
      copies += [f'{arm}/{cname} ({space}: p = {m[k]["p_greater"]:.2g})'
                 for space in ('pixels', 'features')
                 if (k := f'copies_{space}') in m and m[k]['p_greater'] < COPY_ALPHA]
      if max(m['memorised_pixels']['synthetic'], m['memorised_features']['synthetic']) > 0.2:
        better.append(f'{arm}/{cname}')   # 4x what a perfect generator scores
  lines = ['## Synthetic image quality', '',
           'Per pool and class, mean over folds: **synthetic (real reference)**. The reference '
           'scores the fold\'s real test ROIs (new patients) the same way: what a perfect '
           'generator would score at this sample size; synthetic figures are means over subsets '
           'of the test ROIs\' size. Features: the penultimate layer of the fold\'s classic run '
           '(trained on the same training ROIs, no download), so the figures are relative: '
           'they rank pools against each other and real data. FD is biased at this n (read it '
           'beside its reference); KID is unbiased. Precision/recall/density/coverage: k = 5, '
           'against the training ROIs. Memorised: share closer to a training ROI than 95% of '
           'new real ROIs are (pixels: over flips, turns and shifts up to 4 px); 5% for a '
           'perfect generator. Copies: share with its nearest training ROI under 1/3 of the '
           'second nearest\'s distance (real: of the test ROIs; folds pooled). C2ST: ROC AUC '
           'of a small classifier telling the images from real test ROIs (0.5 = '
           'indistinguishable; about 20 real ROIs per class and fold: little power, per-fold '
           'intervals in results.json).', '']
  lines += table(['pool', 'class', 'FD', 'KID', 'precision', 'recall', 'density', 'coverage',
                   'memorised (px)', 'memorised (feat.)', 'copies (px)', 'copies (feat.)',
                   'C2ST AUC'], rows)
  if missing:
    lines += missing + ['']
  if few:
    lines += [f'**Warning: {", ".join(few)} reach less than {RECALL_SHARE:.0%} of their real '
              'reference\'s recall**: in the classifier\'s features they cover few of the '
              'training ROIs\' forms (a collapsed or partly collapsed generator), whatever their '
              'pixel diversity says.', '']
  if copies:
    lines += [f'**Warning: more copies of training ROIs than new real ROIs give** (one-sided '
              f'Fisher exact test, p < {COPY_ALPHA}): {", ".join(copies)}.', '']
  if better:
    lines += [f'Warning: {", ".join(better)} sit closer to the training ROIs than new real '
              'ROIs do: copies of training ROIs, or images smoother than real ones (the oracle '
              'pool, classic variants of fresh ROIs, shows how much the interpolation of '
              'rotations and scalings alone does), not quality beyond real data.', '']
  for arm in q:
    name = os.path.join('figures', f'closest_{arm}.png')
    if workdir and os.path.exists(os.path.join(workdir, name)):
      fold = min((f['fold'] for f in q[arm].get('folds', [])), default=0)   # as drawn
      lines += [f'**{arm}**, fold {fold}: per class (rows), the 4 images nearest to a '
                'training ROI, each followed by that ROI (compared over flips, turns and '
                'shifts; shown unaligned)', '', f'![closest pairs, {arm}]({name})', '']
  return lines


def headroom(results: dict, ceiling: dict | None) -> list[str]:
  """Returns the arms beside the phantom's ceiling (ceiling.json of python -m
  liverjax.tools.ceiling), if it was measured: how far each arm is from what plentiful real data
  gives this classifier."""
  if not ceiling:
    return []
  rows = [[arm, str(r.get('size', 0)), _pct(r['accuracy'])] for arm, r in results['arms'].items()]
  for n, r in sorted(ceiling['per_n'].items(), key=lambda kv: int(kv[0])):
    rows.append([f'ceiling: {n} fresh ROIs', f'best epoch {r["best_epoch"]} of {r["epochs"]}',
                 _pct(r['accuracy'])])
  lines = ['## Headroom: the phantom\'s ceiling', '',
           'The same classifier trained on plentiful fresh phantom ROIs (new patients, no '
           'augmentation), early-stopped on fresh validation ROIs, tested on the same folds: '
           'what more real data could give (`python -m liverjax.tools.ceiling`).', '']
  lines += table(['arm', 'size', 'accuracy'], rows)
  sat = ceiling.get('saturation')
  if sat:
    lo, hi = sat['ci95']
    verdict = ('saturated: the folds do not resolve a gain' if lo <= 0 <= hi else
               'not saturated: the ceiling is a lower bound' if lo > 0 else
               'lower with more ROIs (noise in early stopping)')
    lines += [f'{ceiling["rois"]} vs {sat["fewer"]} ROIs: {100 * sat["mean_diff"]:+.1f} points '
              f'[{100 * lo:+.1f}, {100 * hi:+.1f}], {verdict}.', '']
  return lines
