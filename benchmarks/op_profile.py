"""Where a train step's time goes on XLA-CPU: a JAX profiler trace of one scanned epoch, per op.

  python benchmarks/op_profile.py [--only=classifier_quick,dcgan_quick] [--steps=10] [--out=FILE]
(Not profile.py: from benchmarks/ that would shadow the standard library's, which PyTorch uses.)

For each entry of benchmarks/run.py (default: the main job's two narrow steps) it times --steps
steps as one ``lax.scan`` epoch (as training runs them; median of 3), traces one more epoch with
``jax.profiler.trace``, and matches every thunk XLA-CPU ran to its instruction in the compiled
module's text. That gives each thunk's kind, from the ops inside it: `matmul` (a dot, XLA's or in
a YNNPACK fusion), `patches & layout` (concatenates, pads, slices, copies, transposes: patch
matrices, their adjoints, layout changes), `reductions` (batch norm's statistics, bias and
weight-gradient sums, the loss, max-pools), `elementwise` (activations, masks, the optimizer);
and its place, from the JAX name stack: model and layer (`Conv_1`, `BatchNorm_0`, ...) and the
forward or backward pass; ops outside any model are `step`.

Matmul FLOPs are 2 M N K from the dots' shapes, their rate compared with the sgemm peak measured
in the same run (4096^3, float32). Times are thunk times: XLA-CPU runs independent thunks at once,
and one thunk may use every thread, so `overlap` = summed thunk time / traced wall time says how
often thunks ran side by side, not how busy the cores were.

Writes a table to stdout and JSON to --out (default benchmarks/profile_<isa>.json: amx, avx512 or
avx2; `_xla_avx2` added under XLA_FLAGS=--xla_cpu_max_isa=AVX2, which caps XLA's generated code
but not the library matmul kernels). XLA_FLAGS is recorded in the JSON.
"""

import argparse
import collections
import functools
import glob
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from benchmarks import run  # noqa: E402
from benchmarks.bench import harness  # noqa: E402
from liverjax.base import provenance  # noqa: E402
from liverjax.steps import epochs  # noqa: E402

KINDS = ('matmul', 'patches & layout', 'reductions', 'elementwise')
LAYOUT_OPS = {'concatenate', 'pad', 'slice', 'dynamic-slice', 'dynamic-update-slice', 'copy',
              'transpose', 'reverse', 'gather', 'scatter'}
_INSTR = re.compile(r'^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(\S+)\s+([\w\-]+)\((.*)$')
_SHAPE = re.compile(r'\w+\[([\d,]*)\]')


def vector_isa(cpuinfo: str = '/proc/cpuinfo') -> str:
  """Returns 'amx', 'avx512', 'avx2' or 'other': the widest float vector instructions the CPU
  has, as provenance.cpu names them (XLA_FLAGS' --xla_cpu_max_isa caps what XLA generates, and
  is named apart)."""
  isa = provenance.cpu(cpuinfo)['isa']
  return isa[0].lower().replace('-', '') if isa else 'other'


def _dims(shape: str) -> list[int]:
  m = _SHAPE.match(shape)
  return [int(d) for d in m.group(1).split(',') if d] if m else []


def parse_hlo(text: str) -> dict[str, dict]:
  """Returns, for each instruction of the compiled module's text, {op, shape, metadata op_name,
  computation it calls, computation it is in, and a dot's FLOPs}; and per computation its opcodes
  and dot FLOPs under the key '@' + computation name."""
  out: dict[str, dict] = {}
  comp = None
  shapes: dict[str, str] = {}
  for line in text.splitlines():
    if not line.startswith(' ') and '{' in line and ('->' in line or line.startswith('ENTRY')):
      comp = line.split()[1] if line.startswith('ENTRY') else line.split()[0]
      comp = comp.lstrip('%')
      out['@' + comp] = {'ops': set(), 'flops': 0.0}
      shapes = {}
      continue
    m = _INSTR.match(line)
    if not m or comp is None:
      continue
    name, shape, op, rest = m.groups()
    shapes[name] = shape
    info = {'op': op, 'shape': shape, 'comp': comp}
    meta = re.search(r'op_name="([^"]*)"', rest)
    info['op_name'] = meta.group(1) if meta else ''
    calls = re.search(r'calls=%?([\w.\-]+)', rest)
    info['calls'] = calls.group(1) if calls else None
    out[name] = info
    out['@' + comp]['ops'].add(op)
    if op == 'dot':
      lhs = re.match(r'\s*%?([\w.\-]+)', rest).group(1)
      contracting = re.search(r'lhs_contracting_dims=\{([\d,]*)\}', rest)
      lhs_dims = _dims(shapes.get(lhs, ''))
      k = 1
      for d in (contracting.group(1).split(',') if contracting and contracting.group(1) else []):
        k *= lhs_dims[int(d)] if int(d) < len(lhs_dims) else 1
      n_out = 1
      for d in _dims(shape):
        n_out *= d
      info['flops'] = 2.0 * n_out * k
      out['@' + comp]['flops'] += info['flops']
  return out


def kind_of(name: str, hlo: dict) -> tuple[str, float]:
  """Returns (kind, matmul FLOPs) of the thunk called name."""
  info = hlo.get(name)
  if info is None:
    return 'elementwise', 0.0
  ops = {info['op']}
  flops = info.get('flops', 0.0)   # a dot of its own; a fusion's are in the computation it calls
  if info['calls'] and '@' + info['calls'] in hlo:
    called = hlo['@' + info['calls']]
    ops |= called['ops']
    flops = called['flops']
  if 'dot' in ops or 'convolution' in ops:
    return 'matmul', flops
  if ops & {'reduce', 'reduce-window'}:
    return 'reductions', 0.0
  if ops & LAYOUT_OPS:
    return 'patches & layout', 0.0
  return 'elementwise', 0.0


def place_of(op_name: str) -> tuple[str, str]:
  """Returns (model/layer, pass) from a JAX name stack, e.g.
  '.../transpose(jvp(Classifier))/Conv_1/...' -> ('Classifier/Conv_1', 'backward'); a method's
  scope ('DCGANGenerator._up/ConvTranspose_1') is skipped."""
  parts = op_name.split('/')
  for i, p in enumerate(parts):
    m = re.fullmatch(r'(?:\w+\()*([A-Z]\w*?)\)*', p)
    if m and i + 1 < len(parts):
      rest = [q for q in parts[i + 1:] if not re.fullmatch(r'\w+\.\w+', q)]   # Model._method
      layer = rest[0] if rest and re.fullmatch(r'[A-Z]\w*_\d+', rest[0]) else '(model)'
      return f'{m.group(1)}/{layer}', 'backward' if 'transpose(' in p else 'forward'
  return 'step', '-'


def trace_epoch(epoch, state, data, key):
  """Runs epoch once under the profiler; returns (thunk events, wall seconds, new state)."""
  with tempfile.TemporaryDirectory() as d:
    with jax.profiler.trace(d):
      t = time.perf_counter()
      state, _ = jax.block_until_ready(epoch(state, data, key))
      wall = time.perf_counter() - t
    f = glob.glob(os.path.join(d, '**', '*.trace.json.gz'), recursive=True)[0]
    with gzip.open(f) as fh:
      trace = json.load(fh)
  names = {(e['pid'], e['tid']): e['args']['name'] for e in trace['traceEvents']
           if e.get('ph') == 'M' and e.get('name') == 'thread_name'}
  events = [e for e in trace['traceEvents'] if e.get('ph') == 'X'
            and 'XLAEigen' in names.get((e['pid'], e['tid']), '')
            and not e['name'].startswith('ThunkExecutor')]
  return events, wall, state


def profile(entry, steps: int, peak_gflops: float) -> dict:
  """Returns the per-op profile of entry's step, `steps` steps as one scanned epoch."""
  step_fn, state, batch = run.jax_step(entry)()
  data = {n: jnp.concatenate([a] * steps) for n, a in batch.items()}
  epoch = jax.jit(functools.partial(epochs.train_epoch, step_fn=step_fn,
                                    batch_size=harness.BATCH), donate_argnums=0)
  key = jax.random.key(0)
  hlo = parse_hlo(epoch.lower(state, data, key).compile().as_text())
  state, _ = jax.block_until_ready(epoch(state, data, key))
  walls = []
  for _ in range(3):
    t = time.perf_counter()
    state, _ = jax.block_until_ready(epoch(state, data, key))
    walls.append(time.perf_counter() - t)
  events, traced_wall, state = trace_epoch(epoch, state, data, key)
  rows = collections.defaultdict(lambda: {'ms': 0.0, 'flops': 0.0})
  for e in events:
    kind, flops = kind_of(e['name'], hlo)
    place, pas = place_of(hlo.get(e['name'], {}).get('op_name', ''))
    r = rows[(place, pas, kind)]
    r['ms'] += e['dur'] / 1e3 / steps
    r['flops'] += flops / steps
  thread_ms = sum(r['ms'] for r in rows.values())
  by_kind = {k: round(sum(r['ms'] for (_, _, kk), r in rows.items() if kk == k), 2)
             for k in KINDS}
  mm_ms = by_kind['matmul']
  mm_flops = sum(r['flops'] for r in rows.values())
  wall_ms = 1e3 * statistics.median(walls) / steps
  return {
      'description': entry.description,
      'wall_ms_per_step': round(wall_ms, 2),
      'traced_wall_ms_per_step': round(1e3 * traced_wall / steps, 2),
      'thunk_ms_per_step': round(thread_ms, 2),
      'overlap': round(thread_ms / (1e3 * traced_wall / steps), 2),
      'thunk_ms_by_kind': by_kind,
      'matmul_gflop_per_step': round(mm_flops / 1e9, 3),
      'matmul_gflops': round(mm_flops / 1e9 / (mm_ms / 1e3), 1) if mm_ms else None,
      'step_pct_of_peak': round(100 * mm_flops / 1e9 / (wall_ms / 1e3) / peak_gflops, 1),
      'rows': sorted(({'place': p, 'pass': s, 'kind': k, 'ms': round(r['ms'], 2),
                       'gflop': round(r['flops'] / 1e9, 3)} for (p, s, k), r in rows.items()),
                     key=lambda r: -r['ms']),
  }


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--only', default='classifier_quick,dcgan_quick',
                 help='comma-separated entries of benchmarks/run.py')
  p.add_argument('--steps', type=int, default=10)
  p.add_argument('--top', type=int, default=12, help='rows printed per entry')
  p.add_argument('--out', default=None)
  args = p.parse_args()
  isa = vector_isa()
  cap = re.search(r'--xla_cpu_max_isa=(\w+)', os.environ.get('XLA_FLAGS', ''))
  tag = isa + (f'_xla_{cap.group(1).lower()}' if cap else '')
  args.out = args.out or os.path.join(ROOT, 'benchmarks', f'profile_{tag}.json')
  peak = harness.jax_gemm_peak()['peak_gflops']
  print(f'sgemm peak {peak:.0f} GFLOP/s ({os.cpu_count()} threads, CPU {isa}'
        f'{", XLA capped at " + cap.group(1) if cap else ""})', flush=True)
  result = {'machine': {'cpu': provenance.cpu()['model'], 'vector_isa': isa,
                        'cpus': os.cpu_count(), 'jax': jax.__version__,
                        'XLA_FLAGS': os.environ.get('XLA_FLAGS', '')},
            'sgemm_peak_gflops': round(peak, 1), 'steps_per_epoch': args.steps, 'entries': {}}
  todo = run.entries()
  for name in args.only.split(','):
    r = profile(todo[name], args.steps, peak)
    result['entries'][name] = r
    print(f'\n{name}: {r["description"]}\n  wall {r["wall_ms_per_step"]:.1f} ms/step '
          f'(traced {r["traced_wall_ms_per_step"]:.1f}), thunk time {r["thunk_ms_per_step"]:.1f} '
          f'ms (overlap {r["overlap"]:.2f}); matmuls {r["matmul_gflop_per_step"]:.2f} '
          f'GFLOP at {r["matmul_gflops"]} GFLOP/s while they run; the step at '
          f'{r["step_pct_of_peak"]}% of peak')
    print('  by kind (thunk ms/step): ' + ', '.join(
        f'{k} {v:.1f}' for k, v in r['thunk_ms_by_kind'].items()))
    for row in r['rows'][:args.top]:
      print(f'  {row["ms"]:7.2f} ms  {row["kind"]:<17} {row["pass"]:<9} {row["place"]}'
            + (f'  ({row["gflop"]:.2f} GFLOP)' if row['gflop'] else ''))
  with open(args.out, 'w') as f:
    json.dump(result, f, indent=1)
  print(f'\nwrote {args.out}')


if __name__ == '__main__':
  main()
