"""The workdir lock: one live writer; a killed one leaves no lock; readers are never blocked."""

import os
import signal
import subprocess
import sys

HOLD = """
import sys, time
from liverjax.base import workdir as wd
with wd.locked(sys.argv[1]):
  print('locked', flush=True)
  time.sleep(600)
"""


def _holder(workdir):
  p = subprocess.Popen([sys.executable, '-c', HOLD, str(workdir)], stdout=subprocess.PIPE,
                       text=True)
  assert p.stdout.readline().strip() == 'locked'
  return p


def test_a_second_writer_is_refused_and_a_killed_one_blocks_nothing(tmp_path):
  w = tmp_path / 'w'
  holder = _holder(w)
  try:
    cmd = [sys.executable, 'launch.py', '--config=configs/dcgan_aug.py:smoke', f'--workdir={w}',
           '--config.progress=False']
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    line = out.stderr.strip()
    assert '\n' not in line and f'pid {holder.pid}' in line and 'being written by' in line
    assert sorted(os.listdir(w)) == ['.lock']                 # nothing written
    for args in (['-m', 'liverjax.report', f'--workdir={w}'],
                 ['-m', 'liverjax.tools.quality', f'--workdir={w}']):
      out = subprocess.run([sys.executable, *args], capture_output=True, text=True)
      assert out.returncode == 2 and 'being written by' in out.stderr, out.stderr
    # a reader: the power tool reads results.json without the lock (none here: its own refusal)
    out = subprocess.run([sys.executable, '-m', 'liverjax.tools.power', f'--workdir={w}'],
                         capture_output=True, text=True)
    assert 'being written by' not in out.stderr and 'no results.json' in out.stderr
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  second = _holder(w)                                         # the kernel dropped the flock
  second.kill()
  second.wait()


def test_a_process_that_is_not_the_writer_passes(monkeypatch, tmp_path):
  from liverjax.base import workdir as wd
  holder = _holder(tmp_path)
  try:
    monkeypatch.setattr(wd, 'is_writer', lambda: False)      # process 1.. of a multi-host job
    with wd.locked(str(tmp_path)):
      pass
  finally:
    holder.kill()
    holder.wait()


def test_provenance_names_the_cpu_and_a_resume_elsewhere_warns(tmp_path, caplog):
  import json
  from liverjax.base import provenance
  p = provenance.collect()
  assert p['cpu']['isa'] and p['versions']['jax'] and p['backend'] == 'cpu'
  assert 'jax ' in provenance.one_line(p) and p['cpu']['model'] in provenance.one_line(p)
  first = provenance.record_launch(str(tmp_path))
  assert 'earlier' not in first and not caplog.records
  launches = json.load(open(tmp_path / 'provenance.json'))
  launches[0]['cpu']['isa'] = ['AVX2']                       # as if started on an AVX2-only CPU
  json.dump(launches, open(tmp_path / 'provenance.json', 'w'))
  again = provenance.record_launch(str(tmp_path))
  assert again['earlier'] and len(caplog.records) == 1
  assert "cpu.isa ['AVX2'] -> " in caplog.records[0].getMessage()
  assert len(json.load(open(tmp_path / 'provenance.json'))) == 2   # both launches kept
