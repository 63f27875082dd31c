"""The report reads only the workdir: a finished run's report is rebuilt byte for byte."""

import os
import subprocess
import sys

import pytest

from liverjax.base import errors
from liverjax.report import html, markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT_FILES = ('report.md', 'report.html', 'figures/sweep_classic.png', 'figures/tsne.png')


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
  assert '<table>' in page and '<img src="figures/sweep_classic.png"' in page
  assert '| classic |' in before['report.md'].decode()


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
