"""The phantom's calibration protocol: one candidate setting of the phantom, scored against the
paper's regime and real CT.

python benchmarks/phantom_calibration.py --set=version=2 --set=contrast=0.7 [--seed=1]
    [--volume=lits/img_117.mrc --mask=lits/lab_117.mrc] [--name=NAME]

The protocol, fixed before any candidate was scored:
- Phantom seed 1 (the reported data use seed 0; no setting is chosen on them). No GAN runs.
- Difficulty: `configs/all_aug.py:quick` with arms none, classic and real only, one classifier
  seed, 3 folds: the quick classifier (16/32/64 + 128, learning rate 0.01) trained for --steps
  SGD steps (default 1,200: at the quick budget's 600, version 2's classic runs ended at 82-89%
  training accuracy and its real runs at 72-78%, too short to tell what more data gives), the
  classic set of 1,000 images, the oracle arm `real` adding 1,000 classic variants of 1,000
  fresh ROIs per class. Targets (the paper, real CT): none 57% and classic 78.6%, each within 5
  points; real - classic >= 8 points.
- Realism, at matched spacing: the phantom's lesion-free parenchyma at its native 0.75 mm
  (24 mm squares, 400 patients) against the real portal-venous liver statistics measured at
  0.57-0.78 mm (REAL_075); the ROIs' centre (16x16) mean over non-cyst lesions against real tumour
  ROIs (0.62 +- 0.08) and their share of saturated pixels (real: 3%); with --volume, the LiTS
  comparison of `liverjax.tools.realism` at the volume's spacing (aim: ROC AUC <= 0.75).
Each candidate appends one JSON line to benchmarks/phantom_calibration.jsonl.
The choice: among the candidates run at 1,200 steps, the one that meets most of the three
difficulty targets, ties broken by the smallest sum of misses in points (how far none and classic
lie outside their +-5 and real - classic below +8); --table marks it. Texture is not chosen this
way: it was fitted to REAL_075 alone, before any classifier ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from absl import app, flags
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from liverjax.datasets import phantom, phantom_parenchyma  # noqa: E402
from liverjax.evaluation import realism  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('set', [], 'A phantom knob, key=value (version, noise_hu, contrast, '
                          'overlap, edge, variety).')
flags.DEFINE_integer('seed', 1, 'Phantom seed (calibration: 1; the reported data: 0).')
flags.DEFINE_string('name', '', 'Name of the candidate (default: its settings).')
flags.DEFINE_string('volume', '', 'CT volume for the LiTS texture comparison (optional).')
flags.DEFINE_string('mask', '', 'Its label volume.')
flags.DEFINE_string('spacing', '3,3,3', 'The volume\'s spacing where it stores none.')
flags.DEFINE_string('workdir_root', '/tmp/phantom_calibration', 'Where the runs are written.')
flags.DEFINE_bool('classifiers', True, 'Run the none / classic / real classifiers.')
flags.DEFINE_integer('steps', 1200, 'SGD steps per classifier run (none: at most 150 epochs).')
flags.DEFINE_string('out', os.path.join(ROOT, 'benchmarks', 'phantom_calibration.jsonl'), '')
flags.DEFINE_bool('table', False, 'Print the rows of --out as a Markdown table instead.')

TARGETS = {'none': (0.57, 0.05), 'classic': (0.786, 0.05), 'real_minus_classic_min': 0.08,
           'tumour_centre': (0.62, 0.08), 'saturated': 0.03, 'lits_auc_max': 0.75}
REAL_075 = {'mean': 0.72, 'mean_sd': 0.022, 'noise_sd': 0.023,
            'autocorrelation': {'1': 0.73, '2': 0.45, '3': 0.33, '5': 0.20}}


def knobs() -> dict:
  out = {}
  for kv in FLAGS.set:
    k, v = kv.split('=')
    out[k] = int(v) if k == 'version' else float(v)
  return out


def classifiers(kw: dict, workdir: str) -> dict:
  """Runs the protocol's none / classic / real arms; returns accuracy and training fit per arm."""
  cmd = [sys.executable, os.path.join(ROOT, 'launch.py'), '--config=configs/all_aug.py:quick',
         f'--workdir={workdir}', "--config.arms=('none','classic','real')",
         '--config.seeds=(0,)', '--config.synthetic.per_class=(1000,)',
         '--config.oracle.rois_per_class=1000', f'--config.data.phantom.seed={FLAGS.seed}',
         '--config.progress=False', '--config.synthetic.quality=False',
         f'--config.train.max_steps={FLAGS.steps}']
  cmd += [f'--config.data.phantom.{k}={v}' for k, v in kw.items()]
  t0 = time.time()
  subprocess.run(cmd, check=True, cwd=ROOT)
  results = json.load(open(os.path.join(workdir, 'results.json')))
  out = {'seconds': round(time.time() - t0)}
  for arm, r in results['arms'].items():
    runs = [json.load(open(os.path.join(workdir, 'runs', f)))
            for f in sorted(os.listdir(os.path.join(workdir, 'runs'))) if f.startswith(arm + '_')]
    out[arm] = {'accuracy': r['accuracy']['mean'], 'per_fold': r['accuracy']['per_fold'],
                'train_accuracy': [round(x['final_train']['accuracy'], 3)
                                   for x in runs]}
  return out


def roi_stats(kw: dict) -> dict:
  d = phantom.make_phantom(phantom.PhantomConfig(seed=FLAGS.seed, **kw))
  x, y = d['images'][..., 0], d['labels']
  centre = x[:, 24:40, 24:40].mean((1, 2))
  return {'centre_mean': {c: round(float(centre[y == i].mean()), 3)
                          for i, c in enumerate(phantom.CLASSES)},
          'tumour_centre_mean_sd': [round(float(centre[y > 0].mean()), 3),
                                    round(float(centre[y > 0].std()), 3)],
          'saturated': round(float(np.mean((x <= 0) | (x >= 1))), 4)}


def misses(r: dict) -> tuple[int, float]:
  """Returns (targets missed, sum of misses in points) of a candidate's classifier results."""
  acc = {a: 100 * r['classifiers'][a]['accuracy'] for a in ('none', 'classic', 'real')}
  out = [max(0.0, abs(acc[a] - 100 * TARGETS[a][0]) - 100 * TARGETS[a][1])
         for a in ('none', 'classic')]
  out.append(max(0.0, 100 * TARGETS['real_minus_classic_min'] - (acc['real'] - acc['classic'])))
  return sum(m > 0 for m in out), sum(out)


def chosen(rows: list[dict]) -> str:
  """Returns the name of the candidate the protocol chooses (see the module's docstring)."""
  ok = [r for r in rows if r.get('steps') == 1200 and 'classifiers' in r]
  return min(ok, key=misses)['name'] if ok else ''


def table(path: str) -> str:
  """Returns the candidates in `path` as a Markdown table."""
  head = ('| candidate | steps | none | classic | real | real - classic '
          '| train acc. classic / real | texture 0.75 mm: noise, lag 1/2/3/5 | tumour centre '
          '| saturated | LiTS AUC |')
  lines = [head, '|' + '---|' * head.count(' | ') + '---|']
  pct = lambda v: f'{100 * v:.1f}'
  rows = [json.loads(line) for line in open(path)]
  best = chosen(rows)
  for r in rows:
    c, t = r.get('classifiers', {}), r['texture_075']['phantom']
    acc = {a: c[a]['accuracy'] for a in ('none', 'classic', 'real') if a in c}
    fit = ' / '.join(f'{100 * min(c[a]["train_accuracy"]):.0f}-'
                     f'{100 * max(c[a]["train_accuracy"]):.0f}'
                     for a in ('classic', 'real') if a in c)
    acf = '/'.join(f'{v:.2f}' for v in t['autocorrelation'].values())
    lines.append(
        f'| {r["name"]}{" (chosen)" if r["name"] == best else ""} | {r["steps"]} | ' +
        ' | '.join(pct(acc[a]) if a in acc else '' for a in ('none', 'classic', 'real')) +
        (f' | {100 * (acc["real"] - acc["classic"]):+.1f}' if len(acc) == 3 else ' | ') +
        f' | {fit} | {t["noise_sd"]:.3f}, {acf} | {r["rois"]["tumour_centre_mean_sd"][0]:.2f} '
        f'| {100 * r["rois"]["saturated"]:.1f}% | ' +
        (f'{r["lits"]["auc"]:.2f}' if 'lits' in r else '') + ' |')
  lines.append(f'| real CT | | 57 (paper) | 78.6 (paper) | | >= +8 (aim) | | '
               f'{REAL_075["noise_sd"]}, ' + '/'.join(f'{v:.2f}' for v in
                                                      REAL_075['autocorrelation'].values()) +
               ' | 0.62 | 3% | <= 0.75 (aim) |')
  return '\n'.join(lines)


def main(argv):
  del argv
  if FLAGS.table:
    print(table(FLAGS.out))
    return
  kw = knobs()
  name = FLAGS.name or ','.join(f'{k}={v}' for k, v in kw.items()) or 'default'
  cfg = phantom.PhantomConfig(seed=FLAGS.seed, **kw)
  commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
  row = {'name': name, 'commit': commit, 'seed': FLAGS.seed, 'steps': FLAGS.steps,
         'phantom': {k: getattr(cfg, k) for k in
                     ('version', 'noise_hu', 'contrast', 'overlap', 'edge', 'variety')},
         'targets': TARGETS}
  tex = realism.texture_stats(phantom_parenchyma.parenchyma_patches(400, 24.0, 0.75, 1, cfg))
  row['texture_075'] = {'phantom': tex, 'real': REAL_075}
  row['rois'] = roi_stats(kw)
  if FLAGS.volume:
    from liverjax.tools import realism as realism_tool
    spacing = tuple(float(v) for v in FLAGS.spacing.split(','))
    lits = realism_tool.run(FLAGS.volume, FLAGS.mask, 1, spacing, 24.0, cfg.noise_hu, 1,
                            cfg.version)
    row['lits'] = {'auc': lits['c2st']['auc'], 'ci95': lits['c2st']['ci95'],
                   'real': lits['real'], 'phantom': lits['other']}
  if FLAGS.classifiers:
    row['classifiers'] = classifiers(kw, os.path.join(FLAGS.workdir_root, name))
  print(json.dumps(row, indent=1))
  with open(FLAGS.out, 'a') as f:
    f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
  app.run(main)
