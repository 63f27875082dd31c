"""The train-step benchmark (benchmarks/run.py and its package benchmarks/bench/): every entry
builds and times at tiny widths, its variants change what they say, and the command runs end to
end on the JAX steps alone (PyTorch, a benchmark-only dependency, where installed)."""

import json
import math
import os
import subprocess
import sys

import jax
import pytest

from benchmarks import run
from benchmarks.bench import classifier, diffusion, gan, harness, timers
from liverjax.experiment import builders
from liverjax.steps import diffusion as unet_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = [e.name for e in classifier.entries() + gan.entries()]
UNETS = [e.name for e in diffusion.entries()]


def _tiny(entry: harness.Entry) -> harness.Entry:
  """Returns entry at tiny widths (same kind, settings and variant)."""
  c = entry.config.copy_and_resolve_references()
  if entry.kind == 'classifier':
    c.model.features, c.model.dense = (4, 8, 8), 16
  elif entry.kind == 'diffusion':
    c.channels = 8
  else:
    c.g_widths, c.d_widths = (16, 8, 8, 4), tuple(8 for _ in c.d_widths)
  return harness.Entry(entry.name, entry.description, entry.kind, c, entry.num_classes)


def test_entries_include_the_main_jobs_classifier_and_every_variant():
  names = set(run.entries())
  assert {'classifier', 'classifier_quick', 'dcgan', 'dcgan_quick', 'acgan', 'diffusion',
          'diffusion_quick'} <= names
  assert all(f'{b}{s}' in names for b in BASE for s in ('_bf16', '_xla'))
  quick = run.entries()['classifier_quick'].config.model
  assert tuple(quick.features) == (16, 32, 64) and quick.dense == 128   # variants.AUG_QUICK


@pytest.mark.parametrize('suffix, key, value', [('_bf16', 'matmul_dtype', 'bfloat16'),
                                                ('_xla', 'conv_impl', 'xla')])
def test_a_variant_changes_its_setting_and_nothing_else(suffix, key, value):
  entries = run.entries()
  for name in BASE:
    base, var = entries[name].settings().to_dict(), entries[name + suffix].settings().to_dict()
    assert var[key] == value and {k: v for k, v in var.items() if k != key} == {
        k: v for k, v in base.items() if k != key}, name


# At tiny widths the DCGAN entries differ only in their names: one of them. The variants' layers
# are tested in test_layers.py and test_models.py; here only their settings (above).
@pytest.mark.parametrize('name', ['classifier', 'dcgan', 'acgan', 'diffusion_quick'])
def test_each_kind_of_entry_times_at_tiny_widths(name):
  entry = _tiny(run.entries()[name])
  r = harness.time_step(run.jax_step(entry, batch=8), None, None, steps=2, warmup=1,
                        scan_steps=2)
  assert r['jax_ms'] > 0 and r['jax_scan_ms'] > 0 and len(r['jax_ms_all']) == 2
  assert r['xla_gflop_per_step'] is None or r['xla_gflop_per_step'] >= 0
  assert 'torch_ms' not in r
  peak = {'peak_gflops': 100.0}
  if r['jax_gflops'] is not None:
    assert harness.shares_of_peak(r, peak, None)['jax_pct_of_peak'] >= 0
  assert harness.summary_line(name, r).startswith(name)


def test_each_entrys_pytorch_twin_runs_at_tiny_widths():
  torch_steps = pytest.importorskip('benchmarks.bench.torch_steps')   # benchmark-only
  for name in BASE + UNETS:
    entry = _tiny(run.entries()[name])
    step, _ = torch_steps.step(entry)
    step()
    assert torch_steps.torch_flops(step) > 0


@pytest.mark.parametrize('name', UNETS)
def test_the_unet_twin_has_the_unets_weights(name):
  """The PyTorch U-Net has as many weights as liverjax's (every layer, norm, head and bias: a
  block, an attention or a skip convolution missing or extra changes the count), and returns
  what it is given."""
  torch_steps = pytest.importorskip('benchmarks.bench.torch_steps')   # benchmark-only
  import torch
  entry = run.entries()[name] if name == 'diffusion_quick' else _tiny(run.entries()[name])
  setup = builders.make_diffusion_setup(entry.config, entry.num_classes)
  params = jax.eval_shape(lambda: unet_step.init_state(setup, jax.random.key(0)).params)
  _, net = torch_steps.step(entry)
  assert sum(p.numel() for p in net.parameters()) == sum(
      math.prod(x.shape) for x in jax.tree.leaves(params))
  out = net(torch.zeros(2, 1, 64, 64), torch.zeros(2), torch.tensor([0, -1]))
  assert out.shape == (2, 1, 64, 64)


def test_bf16_needs_the_cpu_flags(tmp_path):
  info = tmp_path / 'cpuinfo'
  info.write_text('flags\t\t: fpu avx2 avx512f\n')
  assert not harness.bf16_support('cpu', str(info))[0]
  info.write_text('flags\t\t: fpu avx2 amx_bf16\n')
  assert harness.bf16_support('cpu', str(info))[0]
  assert harness.bf16_support('cuda', str(info))[0]


def test_the_command_runs_on_jax_alone(tmp_path):
  out = tmp_path / 'results.json'
  proc = subprocess.run(
      [sys.executable, 'benchmarks/run.py', '--only=classifier_quick', '--torch=off',
       '--steps=1', '--warmup=0', '--scan_steps=0', '--cost_analysis=1', '--bf16=off',
       f'--out={out}'], cwd=ROOT, capture_output=True, text=True, timeout=300,
      env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert proc.returncode == 0, proc.stderr[-2000:]
  r = json.loads(out.read_text())
  assert set(r['results']) == {'classifier_quick'} and r['versions']['torch'] is None
  assert r['results']['classifier_quick']['jax_pct_of_peak'] > 0


def test_timers_interleave_each_runner_once_a_rep_and_time_a_layers_scan():
  """interleaved_ms calls every runner once a rep, in order, and skips a missing one;
  grads_scan_runner's compiled scan runs (each call its `steps` steps)."""
  calls = []
  times = timers.interleaved_ms({'a': lambda: calls.append('a'), 'none': None,
                                 'b': lambda: calls.append('b')}, reps=3, steps=4)
  assert calls == ['a', 'b'] * 3
  assert len(times['a']) == len(times['b']) == 3 and times['none'] == []
  x, kernel = jax.numpy.ones((2, 4, 4, 1)), jax.numpy.ones((3, 3, 1, 2))
  run = timers.grads_scan_runner(lambda x, k: jax.lax.conv_general_dilated(
      x, k, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC')), x, kernel, steps=2)
  run()
