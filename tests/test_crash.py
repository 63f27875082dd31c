"""Crash safety: SIGKILL launch.py at random moments, re-run it, and get the uninterrupted result.

The kill moments are drawn from a seed printed in the failure message (set LIVERJAX_KILL_SEED to
replay one).
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, XLA_FLAGS='', JAX_PLATFORMS='cpu')


def _cmd(config, work):
  return [sys.executable, 'launch.py', f'--config={config}', f'--workdir={work}',
          '--config.progress=False']


def _run(config, work) -> float:
  t0 = time.time()
  proc = subprocess.run(_cmd(config, work), cwd=ROOT, env=ENV, capture_output=True, text=True,
                        timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return time.time() - t0


def _kill_resume(config, tmp_path, kills):
  ref = tmp_path / 'ref'
  t_ref = _run(config, ref)
  seed = int(os.environ.get('LIVERJAX_KILL_SEED', time.time_ns() % 100000))
  rng = random.Random(seed)
  work = tmp_path / 'killed'
  moments = []
  for _ in range(kills):
    # Each attempt resumes the previous one's work, so later moments may land past the end.
    t = rng.uniform(0.1, 0.8) * t_ref
    proc = subprocess.Popen(_cmd(config, work), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
      proc.wait(timeout=t)
      moments.append(f'{t:.1f}s (finished first)')
    except subprocess.TimeoutExpired:
      proc.send_signal(signal.SIGKILL)
      proc.wait()
      moments.append(f'{t:.1f}s')
  _run(config, work)
  info = f'kill seed {seed}, killed at {moments} of a {t_ref:.0f} s run'
  assert (work / 'results.json').read_text() == (ref / 'results.json').read_text(), info
  assert (work / 'report.md').exists(), info


def test_sigkill_and_resume_classic_smoke(tmp_path):
  _kill_resume('configs/classic_aug.py:smoke', tmp_path, kills=3)


@pytest.mark.slow
def test_sigkill_and_resume_dcgan_aug_smoke(tmp_path):
  _kill_resume('configs/dcgan_aug.py:smoke', tmp_path, kills=4)
