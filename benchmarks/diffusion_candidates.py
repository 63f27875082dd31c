"""The diffusion budget's candidates (docs/decisions/diffusion_budget.md), judged on phantom seed 1,
fold 0, never on the reported seed 0.

python benchmarks/diffusion_candidates.py --root=DIR --channels=16 --dropout=0.1 \
    --candidates=120:18,168:12 [--samples_per_class=200] [--quality_from=JUDGED_WORKDIR] \
    [--guidance=1] [--model_from=TRAINED_WORKDIR] [--epochs=400] \
    [--out=benchmarks/diffusion_candidates.jsonl]

Each candidate `steps:sampler_steps` is a diffusion job (configs/diffusion.py on three levels,
one block a level, 2x2 patches, attention at 8x8, 500 classic variants a class as the main job's
GANs) trained for that many steps and sampled with that many Heun steps at w = --guidance (1:
the conditional model, one network pass a Heun step; w > 1 guided, two passes), then judged by
`python -m liverjax.tools.quality` (no TSTR: the rule does not use it). The candidates of one
width and dropout form one training line, in order of their steps: each job starts from a copy
of the previous one's checkpoints, so a shorter candidate is an earlier snapshot of the longer
one (training resumes exactly: the shuffle and noise keys fold in the step count) and the line
costs one training of its longest candidate. --model_from starts the line from a trained
candidate's checkpoints instead (same seed, fold, width and dropout): a candidate of the same
steps then trains nothing and samples the same model again, e.g. at another --guidance (such a
candidate's name ends in _w<guidance>). The judge's feature classifier (trained on the
fold's real training ROIs alone, the same for every candidate) is likewise trained once and
copied. Appends one JSON line a candidate to --out: its settings, wall seconds, and per class
the feature recall against the real reference's, C2ST AUC (the quality tool's figure), copy rates (pixels, features)
beside fresh real ROIs' with the one-sided test's p-value, and the collapse check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FLAGS
flags.DEFINE_string('root', None, 'Folder for the candidates\' workdirs.')
flags.DEFINE_integer('channels', 16, 'U-Net width of the first level.')
flags.DEFINE_float('dropout', 0.1, 'Dropout in every residual block.')
flags.DEFINE_list('candidates', [], 'steps:sampler_steps, e.g. 120:18,168:12.')
flags.DEFINE_integer('samples_per_class', 200, 'Samples a class the judge sees.')
flags.DEFINE_integer('seed', 1, 'Phantom seed (the reported runs use 0: never choose on it).')
flags.DEFINE_integer('fold', 0, 'Fold whose training ROIs train the model.')
flags.DEFINE_string('quality_from', '', 'A judged candidate\'s workdir (same seed and fold) '
                    'whose feature classifier is copied rather than trained again.')
flags.DEFINE_float('guidance', 1.0, 'Guidance w the samples are drawn with: 0 unconditional, 1 '
                   'conditional (one network pass a Heun step), > 1 guided (two passes).')
flags.DEFINE_string('model_from', '', 'A trained candidate\'s workdir (same seed, fold, width and '
                    'dropout) whose checkpoints start the line, as the previous candidate\'s do.')
flags.DEFINE_integer('epochs', 0, 'Epochs the config allows (0: its own, 200 = 4,800 steps of 24; '
                     'a candidate longer than that needs more).')
flags.DEFINE_string('out', os.path.join(ROOT, 'benchmarks', 'diffusion_candidates.jsonl'),
                    'JSON lines file appended to.')
flags.mark_flag_as_required('root')

FIXED = ('--config.gan.channel_mult=(1,2,2)', '--config.gan.num_blocks=1',
         '--config.gan.attn_resolutions=(8,)', '--config.gan.patch=2',
         '--config.gan.augmented_per_class=500', '--config.progress=False')


def _run(args: list[str]) -> float:
  t = time.perf_counter()
  proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
  if proc.returncode:
    raise RuntimeError(f'{" ".join(args)} failed:\n{proc.stderr[-3000:]}')
  return time.perf_counter() - t


def _figures(workdir: str) -> dict:
  """Returns the rule's figures per class from a judged workdir: feature recall (and the fresh
  real ROIs' reference), C2ST AUC (the quality tool's C2ST figure), the copy rates by the ratio
  rule beside the real ROIs' with the one-sided p-value, and the collapse check."""
  quality = json.load(open(os.path.join(workdir, 'quality.json')))
  summary = json.load(open(os.path.join(workdir, 'gan_summary.json')))
  (pool,) = quality['synthetic_quality'].values()
  out = {}
  for cls, row in pool['per_class'].items():
    recall = row['recall']
    out[cls] = {'recall': recall['synthetic'], 'real_recall': recall['real'],
                'recall_share': recall['synthetic'] / recall['real'] if recall['real'] else None,
                'c2st_auc': row['c2st']['synthetic'], 'real_c2st_auc': row['c2st']['real'],
                'copies': {space: {k: row[f'copies_{space}'][k]
                                   for k in ('synthetic', 'real', 'p_greater')}
                           for space in ('pixels', 'features')},
                'collapsed': cls in summary['collapsed']}
  return out


def main(argv):
  del argv
  pairs = sorted((int(s), int(k)) for s, k in (c.split(':') for c in FLAGS.candidates))
  previous, judged = FLAGS.model_from or None, FLAGS.quality_from or None
  for steps, sampler in pairs:
    name = f'c{FLAGS.channels}_p{FLAGS.dropout:g}_s{steps}_k{sampler}'
    if FLAGS.guidance != 1.0:
      name += f'_w{FLAGS.guidance:g}'
    work = os.path.join(FLAGS.root, name)
    if previous and not os.path.exists(os.path.join(work, 'gan')):
      shutil.copytree(os.path.join(previous, 'gan'), os.path.join(work, 'gan'))
    job_s = _run(['launch.py', '--config=configs/diffusion.py', f'--workdir={work}',
                  f'--config.data.phantom.seed={FLAGS.seed}', f'--config.gan.fold={FLAGS.fold}',
                  f'--config.gan.max_steps={steps}', f'--config.gan.channels={FLAGS.channels}',
                  f'--config.gan.dropout={FLAGS.dropout}', f'--config.gan.sampler_steps={sampler}',
                  f'--config.gan.samples_per_class={FLAGS.samples_per_class}',
                  f'--config.gan.guidance={FLAGS.guidance}', *FIXED,
                  *([f'--config.gan.epochs={FLAGS.epochs}'] if FLAGS.epochs else [])])
    if judged and not os.path.exists(os.path.join(work, 'quality')):
      shutil.copytree(os.path.join(judged, 'quality'), os.path.join(work, 'quality'))
    judge_s = _run(['-m', 'liverjax.tools.quality', f'--workdir={work}', '--tstr_per_class=0'])
    line = {'name': name, 'seed': FLAGS.seed, 'fold': FLAGS.fold, 'channels': FLAGS.channels,
            'dropout': FLAGS.dropout, 'steps': steps, 'sampler_steps': sampler,
            'samples_per_class': FLAGS.samples_per_class, 'guidance': FLAGS.guidance,
            'epochs': json.load(open(os.path.join(work, 'config.json')))['gan']['epochs'],
            'resumed_from': os.path.basename(previous) if previous else None,
            'job_s': round(job_s, 1), 'judge_s': round(judge_s, 1),
            'timing': json.load(open(os.path.join(work, 'timing.json'))),
            'per_class': _figures(work)}
    with open(FLAGS.out, 'a') as f:
      f.write(json.dumps(line) + '\n')
    print(json.dumps(line), flush=True)
    previous, judged = work, judged or work


if __name__ == '__main__':
  app.run(main)
