"""Where a result came from: the liverjax commit, the libraries, the backend and the CPU.

Results of one commit, config and seed differ in their last bits between CPUs (AVX2, AVX-512 and
AMX round sums differently) and library versions, and GAN training amplifies the difference: a
result says what produced it, and parts of one benchmark are merged only from one commit.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import subprocess

import jax

from liverjax.base import workdir as wd

# The vector instruction sets that change XLA's CPU kernels, by /proc/cpuinfo flag.
ISA_FLAGS = (('amx_tile', 'AMX'), ('avx512f', 'AVX-512'), ('avx2', 'AVX2'))


def cpu(cpuinfo: str = '/proc/cpuinfo') -> dict:
  """Returns {'model', 'isa'}: the CPU's model name and its widest vector instructions."""
  model, flags = platform.processor() or platform.machine(), set()
  try:
    with open(cpuinfo) as f:
      for line in f:
        key, _, value = line.partition(':')
        if key.strip() == 'model name':
          model = value.strip()
        elif key.strip() == 'flags':
          flags = set(value.split())
          break
  except OSError:
    pass
  return {'model': model, 'isa': [name for flag, name in ISA_FLAGS if flag in flags]}


def commit(path: str | None = None) -> dict:
  """Returns {'commit', 'dirty'} of the liverjax checkout (None outside a git checkout)."""
  root = path or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  try:
    run = lambda *a: subprocess.run(['git', '-C', root, *a], capture_output=True, text=True,
                                    timeout=10, check=True).stdout.strip()
    return {'commit': run('rev-parse', 'HEAD'),
            'dirty': bool(run('status', '--porcelain', '--untracked-files=no'))}
  except (OSError, subprocess.SubprocessError):
    return {'commit': None, 'dirty': None}


def collect() -> dict:
  """Returns the provenance of a result produced in this process."""
  versions = {}
  for name in ('jax', 'jaxlib', 'flax', 'optax', 'numpy'):
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  device = jax.devices()[0]
  return dict(commit(), versions=versions, backend=jax.default_backend(),
              device_kind=device.device_kind, cpu=cpu(), processes=jax.process_count(),
              devices=jax.device_count())


def one_line(p: dict) -> str:
  """Returns the provenance as one line for a report."""
  c = p.get('commit')
  tree = ' (dirty tree)' if p.get('dirty') else ''
  isa = '/'.join(p.get('cpu', {}).get('isa', [])) or 'no AVX2'
  return (f'liverjax {c[:10] if c else "(no git checkout)"}{tree}'
          f', jax {p["versions"].get("jax")}, {p["backend"]} ({p["device_kind"]}, '
          f'{p["devices"]} device(s), {p["processes"]} process(es)), CPU {p["cpu"]["model"]} '
          f'({isa})')


# What may change the last bits of a result when a run resumes elsewhere.
KIND_KEYS = (('cpu', 'model'), ('cpu', 'isa'), ('versions', 'jax'), ('versions', 'jaxlib'),
             ('versions', 'flax'), ('backend',), ('device_kind',), ('devices',))


def _get(p: dict, path: tuple):
  for k in path:
    p = (p or {}).get(k)
  return p


def record_launch(workdir: str) -> dict:
  """Appends this launch's provenance to WORKDIR/provenance.json (process 0) and returns it,
  with 'earlier': the earlier launches that differ from it in CPU, libraries or devices. Each
  such difference is logged as one warning naming both (the run's results may then differ in
  their last bits from an uninterrupted run's, and GAN training amplifies that)."""
  path = os.path.join(workdir, 'provenance.json')
  launches = wd.read_json(path) or []
  now = collect()
  earlier = []
  for old in launches:
    diff = [('.'.join(k), _get(old, k), _get(now, k)) for k in KIND_KEYS
            if _get(old, k) != _get(now, k)]
    if diff:
      earlier.append(old)
      logging.warning('%s was started on another machine or library: %s; results may differ in '
                      'their last bits from an uninterrupted run', workdir,
                      '; '.join(f'{k} {a} -> {b}' for k, a, b in diff))
  wd.write_json(path, launches + [now])
  return dict(now, earlier=earlier) if earlier else now
