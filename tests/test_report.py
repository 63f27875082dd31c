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
  # a one-size sweep is a table row, not a one-point plot
  assert '| classic | 64 |' in text and 'sweep_classic.png' not in text
  assert not os.path.exists(os.path.join(work, 'figures', 'sweep_classic.png'))


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
                                 'p_ttest': 0.029},
            'acgan_vs_classic': {'mean_diff': 0.01, 'ci95': [-0.05, 0.07], 'n': 3, 'p_ttest': 0.6},
            'real_vs_classic': {'mean_diff': 0.09, 'ci95': [0.02, 0.16], 'n': 3, 'p_ttest': 0.03}}
  text = '\n'.join(markdown.verdict({'arms': arms, 'paired_accuracy': paired}))
  assert '**dcgan** (classic + 200 per class) is worse than classic' in text
  assert '-6.6 points [-11.5, -1.7] over 3 folds' in text
  assert '**acgan** (classic + 500 per class) is not distinguishable by these folds from' in text
  assert '**real** (classic + 200 per class) is better than classic' in text
  assert text.count('\n- **') == 3   # one line per arm against classic; classic_vs_none is not one
  assert markdown.verdict({'arms': arms, 'paired_accuracy': {}}) == []


def test_arms_that_did_not_fit_their_training_sets_are_warned_of():
  fit = {'accuracy': 0.62, 'min_accuracy': 0.5, 'loss': 0.9, 'runs': 9, 'below': 7,
         'threshold': 0.9}
  results = {'arms': {'none': {'training_fit': dict(fit, below=0, accuracy=0.97)},
                      'classic': {'training_fit': fit}, 'dcgan': {}}}
  text = '\n'.join(markdown.training_fit(results))
  assert '**classic**: 7 of 9 runs ended below 90% training accuracy (mean 62.0%' in text
  assert '**none**' not in text and '**dcgan**' not in text
  results['arms']['classic']['training_fit']['below'] = 0
  assert markdown.training_fit(results) == []
