"""Past one host: two launch.py processes on localhost (jax.distributed + gloo CPU collectives)
give the results of one process with the same number of devices, with folds trained one by one
or vmapped (config.train.vmap_folds)."""

import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _env(devices):
  return dict(os.environ, JAX_PLATFORMS='cpu',
              XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}')


ARGS = ['--config=configs/classic_aug.py:smoke', '--config.progress=False']


@pytest.fixture(scope='module')
def one_process(tmp_path_factory):
  """results.json of one process with 4 devices, fold by fold."""
  workdir = tmp_path_factory.mktemp('one')
  one = subprocess.run([sys.executable, 'launch.py', *ARGS, f'--workdir={workdir}'],
                       cwd=ROOT, env=_env(4), capture_output=True, text=True, timeout=600)
  assert one.returncode == 0, one.stderr[-3000:]
  return (workdir / 'results.json').read_text()


# vmap_folds: each fold's checkpoint manager saves the same epoch at once; with two processes their
# orbax barriers once shared a name and the run hung (workdir.checkpoint_manager).
@pytest.mark.parametrize('vmap_folds', [False, True])
def test_two_processes_equal_one_process(tmp_path, one_process, vmap_folds):
  port = _free_port()
  procs = [subprocess.Popen(
      [sys.executable, 'launch.py', *ARGS, f'--config.train.vmap_folds={vmap_folds}',
       f'--workdir={tmp_path / "two"}', '--multihost',
       f'--coordinator_address=localhost:{port}', '--num_processes=2', f'--process_id={i}'],
      cwd=ROOT, env=_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  outs = []
  for p in procs:
    try:
      outs.append(p.communicate(timeout=600))
    except subprocess.TimeoutExpired:
      for q in procs:
        q.kill()
      raise
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  for _, err in outs:
    assert 'Connecting to JAX distributed service' in err
  # 2 processes x 2 devices = the 4-device mesh of one process: the same numbers, byte for byte
  # (vmapped folds too: their records equal fold-by-fold training's, tests/test_experiment.py).
  assert (tmp_path / 'two' / 'results.json').read_text() == one_process
  # Only process 0 wrote files: no temp files of process 1 left behind.
  leftovers = [f for _, _, fs in os.walk(tmp_path / 'two') for f in fs if '.tmp' in f]
  assert not leftovers
