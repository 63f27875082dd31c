"""The timing harness shared by every entry: one benchmark entry, its JAX step timed one by one
and inside ``lax.scan``, interleaved with its PyTorch twin (if PyTorch is installed), XLA's cost
and memory analyses, page faults, and the machine's bfloat16 support."""

from __future__ import annotations

import dataclasses
import functools
import statistics
from typing import Any, Callable

import jax
import jax.numpy as jnp

from benchmarks.bench.timers import interleaved_ms, minor_faults, scan_ms, seconds

BATCH = 64
BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


@dataclasses.dataclass(frozen=True)
class Entry:
  """One benchmark entry: a liverjax model's train step at one setting, batch BATCH."""
  name: str
  description: str
  kind: str                  # 'classifier' (config: an experiment config) or 'gan' (a GAN config)
  config: Any
  num_classes: int = 3

  def settings(self):
    """Returns the config node that holds matmul_dtype and conv_impl."""
    return self.config.model if self.kind == 'classifier' else self.config


def variants(entries: list[Entry]) -> list[Entry]:
  """Returns entries followed by their <name>_bf16 (matmul_dtype='bfloat16': the convolutions'
  matmuls on bfloat16 operands, float32 sums) and <name>_xla (conv_impl='xla': XLA's own
  convolutions, cuDNN on a GPU) variants."""
  out = list(entries)
  for key, value, suffix, desc in (
      ('matmul_dtype', 'bfloat16', '_bf16', '; bfloat16 matmul operands, float32 sums'),
      ('conv_impl', 'xla', '_xla', "; conv_impl='xla' (XLA's own convolutions; cuDNN on a GPU)")):
    for e in entries:
      v = dataclasses.replace(e, name=e.name + suffix, description=e.description + desc,
                              config=e.config.copy_and_resolve_references())
      setattr(v.settings(), key, value)
      out.append(v)
  return out


def xla_cost(fn, *args) -> tuple[float | None, float | None]:
  """Returns (FLOPs, temp buffer MB) of the compiled step from XLA's analyses (best effort)."""
  try:
    compiled = fn.lower(*args).compile()
  except Exception:   # noqa: BLE001 -- an analysis a backend lacks is reported as None
    return None, None
  flops = temp_mb = None
  try:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):
      cost = cost[0]
    flops = float(cost.get('flops', float('nan')))
  except Exception:   # noqa: BLE001
    pass
  try:
    temp_mb = compiled.memory_analysis().temp_size_in_bytes / 2 ** 20
  except Exception:   # noqa: BLE001
    pass
  return flops, temp_mb


def time_step(jax_step: Callable, torch_step: Callable | None, torch_bf16_step: Callable | None,
              steps: int, warmup: int, scan_steps: int, cost_analysis: bool = True,
              flop_counter: Callable | None = None) -> dict:
  """Returns the measurements of one JAX step, jax_step() -> (step_fn, state, batch): one by one
  (median of `steps` after `warmup`) and in a scanned epoch of scan_steps, interleaved with its
  PyTorch twins (torch_step() -> (step, modules), in float32 and under bfloat16 autocast) where
  given; FLOPs by flop_counter(PyTorch step) (model FLOPs), else XLA's cost analysis."""
  step_fn, state, batch = jax_step()
  key = jax.random.key(3)
  jax_scan_ms = scan_ms(step_fn, state, batch, key, scan_steps) if scan_steps else None
  fn = jax.jit(step_fn, donate_argnums=0)
  flops_xla, temp_mb = xla_cost(fn, state, batch, key) if cost_analysis else (None, None)
  holder = {'state': state}

  def run_jax():
    holder['state'], metrics = fn(holder['state'], batch, key)
    jax.block_until_ready((holder['state'], metrics))

  t_torch = torch_step()[0] if torch_step else None
  t_bf16 = torch_bf16_step()[0] if torch_bf16_step else None
  flops = flop_counter(t_torch) if (flop_counter and t_torch) else flops_xla
  t_compile = seconds(run_jax)
  runners = {'jax': run_jax, 'torch': t_torch, 'bf16': t_bf16}   # a missing twin is None
  interleaved_ms(runners, warmup, 1)
  times = interleaved_ms(runners, steps, 1)   # ms per call
  jax_ms = statistics.median(times['jax'])
  out = {'jax_ms': round(jax_ms, 1),
         'gflop_per_step': None if flops is None else round(flops / 1e9, 2),
         'xla_gflop_per_step': None if flops_xla is None else round(flops_xla / 1e9, 2),
         'jax_gflops': None if flops is None else round(flops / jax_ms / 1e6, 1),
         'jax_first_call_s': round(t_compile, 1),
         'jax_temp_mb': None if temp_mb is None else round(temp_mb, 1),
         'jax_minor_faults_per_step': int(statistics.median(minor_faults(run_jax)
                                                            for _ in range(3))),
         'jax_scan_ms': None if jax_scan_ms is None else round(jax_scan_ms, 1),
         'jax_ms_all': [round(t, 1) for t in times['jax']]}
  if t_torch:
    torch_ms = statistics.median(times['torch'])
    out.update({'torch_ms': round(torch_ms, 1), 'speedup_vs_torch': round(torch_ms / jax_ms, 3),
                'torch_gflops': None if flops is None else round(flops / torch_ms / 1e6, 1),
                'torch_minor_faults_per_step': int(statistics.median(
                    minor_faults(t_torch) for _ in range(3))),
                'speedup_in_scan_vs_torch': (None if jax_scan_ms is None
                                             else round(torch_ms / jax_scan_ms, 3)),
                'torch_ms_all': [round(t, 1) for t in times['torch']]})
  if t_bf16:
    bf16_ms = statistics.median(times['bf16'])
    out.update({'torch_bf16_ms': round(bf16_ms, 1),
                'speedup_vs_torch_bf16': round(bf16_ms / jax_ms, 3),
                'speedup_in_scan_vs_torch_bf16': (None if jax_scan_ms is None
                                                  else round(bf16_ms / jax_scan_ms, 3)),
                'torch_bf16_ms_all': [round(t, 1) for t in times['bf16']]})
  return out


def bf16_support(device: str, cpuinfo: str = '/proc/cpuinfo') -> tuple[bool, str]:
  """Returns (whether to time bfloat16, why): on a CPU only if it has bfloat16 instructions
  (flags avx512_bf16 or amx_bf16); without them PyTorch's bfloat16 matmul runs at about 1
  GFLOP/s on a 2-core AVX2 CPU, and its 4096^3 peak alone would take hours."""
  if device != 'cpu':
    return True, f'{device}: bfloat16 timed'
  try:
    with open(cpuinfo) as f:
      flags = set(next((ln.split(':', 1)[1].split() for ln in f if ln.startswith('flags')), []))
  except OSError:
    flags = set()
  have = [x for x in BF16_CPU_FLAGS if x in flags]
  if have:
    return True, f'CPU flags {", ".join(have)}: bfloat16 timed'
  return False, (f'skipped the bfloat16 peak and the *_bf16 steps: this CPU has none of the '
                 f'bfloat16 flags {", ".join(BF16_CPU_FLAGS)} (pass --bf16=on to time them anyway)')


def jax_gemm_peak(n: int = 4096, reps: int = 5, bf16: bool = False, device: str = 'cpu') -> dict:
  """Returns GFLOP/s of an n^3 matmul in JAX alone (best of reps), float32 or bfloat16 operands
  with float32 sums: the peak where PyTorch is not used."""
  del device
  dtype = jnp.bfloat16 if bf16 else jnp.float32
  a = jax.random.uniform(jax.random.key(0), (n, n)).astype(dtype)
  b = jax.random.uniform(jax.random.key(1), (n, n)).astype(dtype)
  mm = jax.jit(functools.partial(jnp.dot, preferred_element_type=jnp.float32))
  mm(a, b).block_until_ready()
  t = min(seconds(lambda: mm(a, b).block_until_ready()) for _ in range(reps))
  gflops = 2.0 * n ** 3 / t / 1e9
  return {'jax_gflops': gflops, 'peak_gflops': gflops, 'n': n}


def shares_of_peak(r: dict, peak: dict, peak_bf16: dict | None) -> dict:
  """Returns each library's share (%) of the sgemm peak measured in the same run, and for a
  bfloat16 step of the bfloat16 matmul peak too."""
  out = {}
  for lib in ('jax', 'torch'):
    if r.get(f'{lib}_gflops') is not None:
      out[f'{lib}_pct_of_peak'] = round(100 * r[f'{lib}_gflops'] / peak['peak_gflops'], 1)
  if peak_bf16 and r.get('jax_gflops') is not None:
    out['jax_pct_of_bf16_peak'] = round(100 * r['jax_gflops'] / peak_bf16['peak_gflops'], 1)
    if 'torch_bf16_ms' in r:
      out['torch_bf16_pct_of_bf16_peak'] = round(
          100 * r['gflop_per_step'] * 1e3 / r['torch_bf16_ms'] / peak_bf16['peak_gflops'], 1)
  return out


def summary_line(name: str, r: dict) -> str:
  """Returns one entry's line of the printed table."""
  parts = [f'{name:<16} jax {r["jax_ms"]:9.1f} ms']
  if 'torch_ms' in r:
    parts.append(f'torch {r["torch_ms"]:9.1f} ms  speed-up {r["speedup_vs_torch"]:5.2f}x')
  if r.get('gflop_per_step') is not None:
    parts.append(f'{r["gflop_per_step"]:7.1f} GFLOP  jax {r.get("jax_pct_of_peak", 0):5.1f}% of '
                 'peak' + (f' / torch {r["torch_pct_of_peak"]:5.1f}%'
                           if 'torch_pct_of_peak' in r else ''))
  if r.get('jax_scan_ms'):
    parts.append(f'jax in scan {r["jax_scan_ms"]:.1f} ms/step'
                 + (f' ({r["speedup_in_scan_vs_torch"]:.2f}x)'
                    if r.get('speedup_in_scan_vs_torch') else ''))
  if 'torch_bf16_ms' in r:
    parts.append(f'torch bf16 autocast {r["torch_bf16_ms"]:.1f} ms '
                 f'({r["speedup_vs_torch_bf16"]:.2f}x)')
  return '  '.join(parts)
