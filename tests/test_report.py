"""The report reads only the workdir: a finished run's report is rebuilt byte for byte."""

import os
import subprocess
import sys

import pytest

from liverjax.base import errors
from liverjax.report import html, markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT_FILES = ('report.md', 'report.html', 'figures/tsne.png')


def _run(*args):
  env = dict(os.environ, XLA_FLAGS='', JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=600)


def test_report_is_rebuilt_from_the_workdir_alone(tmp_path):
  work = str(tmp_path / 'w')
  proc = _run('launch.py', '--config=configs/classic_aug.py:smoke', f'--workdir={work}',
              '--config.progress=False')
  assert proc.returncode == 0, proc.stderr[-3000:]
  before = {}
  for name in REPORT_FILES:
    with open(os.path.join(work, name), 'rb') as f:
      before[name] = f.read()
    os.remove(os.path.join(work, name))
  proc = _run('-m', 'liverjax.report', f'--workdir={work}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  for name in REPORT_FILES:
    with open(os.path.join(work, name), 'rb') as f:
      assert f.read() == before[name], name
  page = before['report.html'].decode()
  assert '<table>' in page and '<img src="figures/tsne.png"' in page
  text = before['report.md'].decode()
  assert '| classic |' in text
  assert 'calibrated on phantom seed 1' in text and 'the calibration seed' not in text
  # a one-size sweep is a table row, not a one-point plot
  assert '| classic | 64 |' in text and 'sweep_classic.png' not in text
  assert not os.path.exists(os.path.join(work, 'figures', 'sweep_classic.png'))


def test_the_header_says_what_the_phantom_was_calibrated_on():
  """Version 2 names its calibration seed and warns when the report is on it; version 1 and
  other data say nothing."""
  results = {'arms': {'none': {'interval': 'an interval'}}}
  config = {'folds': 3, 'seeds': [0]}
  data = {'source': 's', 'n_images': 1, 'classes': ['a'], 'class_counts': [1], 'n_groups': 1}
  say = lambda phantom: '\n'.join(markdown.header(config, dict(data, phantom=phantom), results))
  text = say({'seed': 0, 'version': 2, 'calibrated_on_seed': 1})
  assert 'calibrated on phantom seed 1' in text and 'calibration seed' not in text
  assert '**This report is on seed 1, the calibration seed' in say(
      {'seed': 1, 'version': 2, 'calibrated_on_seed': 1})
  assert 'calibrated' not in say({'seed': 1, 'version': 1, 'calibrated_on_seed': None})
  assert 'calibrated' not in '\n'.join(markdown.header(config, data, results))


def test_report_of_an_unfinished_workdir_is_one_line(tmp_path):
  proc = _run('-m', 'liverjax.report', f'--workdir={tmp_path}')
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      f'error: {tmp_path}: no config.json (is it a finished classifier experiment?)']


def test_html_renders_tables_and_escapes_raw_html():
  page = html.to_html('# T\n\n| a | b |\n|---|---|\n| **1** | `x` |\n\n<script>x</script>\n')
  assert '<h1>T</h1>' in page
  assert '<th>a</th>' in page and '<td><strong>1</strong></td>' in page
  assert '<code>x</code>' in page
  assert '<script>' not in page and '&lt;script&gt;' in page


def test_report_errors_are_liverjax_errors():
  from liverjax import report
  with pytest.raises(errors.WorkdirError):
    report.build_markdown('/nonexistent/workdir')


def test_collapsed_generators_are_flagged_in_the_report():
  check = {'ratio': 0.2, 'threshold': 0.5, 'collapsed': True, 'grid': {'ratio': 1.0}}
  results = {'gan_diversity': {'dcgan_fold0': {'cyst': check, 'metastasis': dict(
      check, ratio=0.9, collapsed=False)}}, 'collapsed_generators': ['dcgan_fold0/cyst']}
  text = '\n'.join(markdown.diversity(results))
  assert 'Warning: collapsed generator(s): dcgan_fold0/cyst.' in text
  assert '| dcgan_fold0 | cyst | 20% | 50% | COLLAPSED | 1.0x |' in text
  assert '| dcgan_fold0 | metastasis | 90% | 50% | ok | 1.0x |' in text
  results['collapsed_generators'] = []
  assert 'Warning' not in '\n'.join(markdown.diversity(results))


def test_the_verdict_answers_first():
  arms = {'classic': {'size': 1000}, 'dcgan': {'size': 200}, 'acgan': {'size': 500},
          'real': {'size': 200}}
  paired = {'classic_vs_none': {'mean_diff': 0.02, 'ci95': [-0.06, 0.1], 'n': 3, 'p_ttest': 0.4},
            'dcgan_vs_classic': {'mean_diff': -0.066, 'ci95': [-0.115, -0.017], 'n': 3,
                                 'p_ttest': 0.029, 'mde': 0.05},
            'acgan_vs_classic': {'mean_diff': 0.01, 'ci95': [-0.05, 0.07], 'n': 3, 'p_ttest': 0.6,
                                 'mde': 0.172},
            'real_vs_classic': {'mean_diff': 0.09, 'ci95': [0.02, 0.16], 'n': 3, 'p_ttest': 0.03}}
  text = '\n'.join(markdown.verdict({'arms': arms, 'paired_accuracy': paired}))
  assert '**dcgan** (classic + 200 per class) is worse than classic' in text
  assert '-6.6 points [-11.5, -1.7] over 3 units' in text
  assert 'smallest difference these runs could detect (two-sided 5%, 80% power) is 5.0 points, so ' \
         'they could detect the paper\'s +7.1' in text
  assert '**acgan** (classic + 500 per class) is not distinguishable by these runs from' in text
  assert 'is 17.2 points, so they could not detect the paper\'s +7.1' in text
  assert 'Each arm ran one size, fixed in advance.' in text   # no sweep: no selection claimed
  assert '**real** (classic + 200 per class) is better than classic' in text
  assert text.count('\n- **') == 3   # one line per arm against classic; classic_vs_none is not one
  assert markdown.verdict({'arms': arms, 'paired_accuracy': {}}) == []


def test_arms_that_did_not_fit_their_training_sets_are_warned_of():
  fit = {'accuracy': 0.62, 'min_accuracy': 0.5, 'runs': 9, 'below': 7,
         'threshold': 0.9}
  results = {'arms': {'none': {'training_fit': dict(fit, below=0, accuracy=0.97)},
                      'classic': {'training_fit': fit}, 'dcgan': {}}}
  text = '\n'.join(markdown.training_fit(results))
  assert '**classic**: 7 of 9 runs ended below 90% training accuracy (mean 62.0%' in text
  assert '**none**' not in text and '**dcgan**' not in text
  results['arms']['classic']['training_fit']['below'] = 0
  assert markdown.training_fit(results) == []


def test_quality_and_oracle_share_tables():
  from liverjax.report import quality
  pair = lambda syn, real: {'synthetic': syn, 'real': real}
  row = {'fd': pair(12.0, 8.0), 'kid': pair(0.5, 0.01), 'precision': pair(0.4, 0.9),
         'recall': pair(0.1, 0.8), 'density': pair(0.3, 1.0), 'coverage': pair(0.2, 0.85),
         'memorised_pixels': pair(0.02, 0.05), 'memorised_features': pair(0.1, 0.05),
         'c2st': pair(0.97, 0.55)}
  copies = lambda syn, p: {'synthetic': syn, 'real': 0.0, 'p_greater': p}
  results = {'synthetic_quality': {'dcgan': {'per_class': {'cyst': dict(
                                       row, copies_pixels=copies(0.3, 0.001),
                                       copies_features=copies(0.01, 0.6))}},
                                   'real': {'per_class': {'cyst': dict(
                                       row, memorised_pixels=pair(0.9, 0.05),
                                       recall=pair(0.5, 0.8))}}}}
  text = '\n'.join(quality.synthetic_quality(results))
  assert ('| dcgan | cyst | 12 (8) | 0.5 (0.01) | 40% (90%) | 10% (80%) | 30% (100%) '
          '| 20% (85%) | 2% (5%) | 10% (5%) | 30% (0%) | 1% (0%) | 0.97 (0.55) |') in text
  # copies above new real ROIs' rate are warned of, in the space where the test says so
  assert 'more copies of training ROIs than new real ROIs give' in text
  assert 'dcgan/cyst (pixels: p = 0.001)' in text and 'features: p' not in text
  # results written before the copy rate existed read 'not measured'
  assert '| real | cyst |' in text and '| not measured | not measured |' in text
  assert 'Warning: real/cyst sit closer to the training ROIs' in text   # only it
  assert '**Warning: dcgan/cyst reach less than 50% of their real reference' in text
  assert 'real/cyst reach' not in text
  assert quality.synthetic_quality({}) == []
  diff = lambda m, lo, hi: {'mean_diff': m, 'ci95': [lo, hi], 'n': 3}
  shares = {'dcgan': {'size': 1000, 'gain': diff(0.02, -0.01, 0.05),
                      'oracle_gain': diff(0.08, 0.03, 0.13), 'share': 0.25,
                      'share_ci95': [-0.1, 0.7]},
            'acgan': {'size': 1000, 'gain': diff(0.0, -0.02, 0.02),
                      'oracle_gain': diff(0.01, -0.03, 0.05), 'share': None}}
  text = '\n'.join(quality.oracle_share({'oracle_share': shares}))
  assert '| dcgan | 1000 | +2.0 [-1.0, +5.0] | +8.0 [+3.0, +13.0] | 25% [-10, 70] |' in text
  assert '| acgan | 1000 | +0.0 [-2.0, +2.0] | +1.0 [-3.0, +5.0] | n/a' in text
  assert 'a null or negative result of a generator arm from it says nothing' in text   # acgan's row
  del shares['acgan']
  assert 'says nothing' not in '\n'.join(quality.oracle_share({'oracle_share': shares}))


def test_the_closest_pairs_caption_names_the_fold_they_were_drawn_from(tmp_path):
  """synthetic_quality draws the closest pairs on the run's first fold; a replicate part of a
  benchmark has only fold (replicate) K, and its caption said fold 0."""
  from liverjax.report import quality
  os.makedirs(tmp_path / 'figures')
  (tmp_path / 'figures' / 'closest_diffusion.png').write_bytes(b'png')
  pair = {'synthetic': 0.5, 'real': 0.5}
  row = {k: pair for k in ('fd', 'kid', 'precision', 'recall', 'density', 'coverage',
                           'memorised_pixels', 'memorised_features', 'c2st')}
  q = {'diffusion': {'folds': [{'fold': 3}, {'fold': 2}], 'per_class': {'cyst': row}}}
  text = '\n'.join(quality.synthetic_quality({'synthetic_quality': q}, str(tmp_path)))
  assert '**diffusion**, fold 2: per class' in text and 'fold 0' not in text
  del q['diffusion']['folds']   # no fold list: fold 0, as before
  text = '\n'.join(quality.synthetic_quality({'synthetic_quality': q}, str(tmp_path)))
  assert '**diffusion**, fold 0: per class' in text
