"""Train-step benchmark: liverjax (JAX/Flax, jitted) vs the same architectures in PyTorch eager
(CPU; GPU with --device=cuda).

  pip install -r benchmarks/requirements.txt      # torch==2.13.0, CPU; never a runtime dependency
  python benchmarks/run.py [--steps=10] [--warmup=3] [--only=classifier,dcgan_half] [--out=FILE]
                           [--scan_steps=5]

For each step (batch 64, 64x64x1): the liverjax train step (`steps.classifier.train_step` for the classifier,
`gan.train_step` = one D and one G update for the GANs) and an equivalent PyTorch step (same
layers, widths, kernels, strides, losses and optimizers) are timed interleaved in this one process
(JAX, PyTorch, JAX, PyTorch, ...; median of --steps after --warmup), with the thread count fixed
for both. FLOPs: PyTorch's FlopCounterMode on one step (model FLOPs, forward + backward; the same
architecture for both) and XLA's cost analysis of the compiled JAX step (what XLA executes). The
machine's sgemm peak is measured in the same run (4096^3 float32 matmul, best of both libraries).
Writes a table to stdout and JSON to --out (default benchmarks/results.json), each step with
jax_ms, torch_ms, speedup_vs_torch (= torch ms / jax ms) and % of peak. The steps above are
called one by one; training runs them inside ``lax.scan`` (``epochs.train_epoch``), so
jax_scan_ms is the same JAX step timed that way too (--scan_steps steps as one epoch, median of
3), and speedup_in_scan_vs_torch = torch ms / jax_scan_ms. Each JAX call pays a fixed cost that
the loop pays once per epoch: XLA allocates the step's temp buffer (jax_temp_mb) afresh at every
call and the kernel faults its pages in (jax_minor_faults_per_step, torch_minor_faults_per_step:
median minor page faults of one step; benchmarks/README.md). GLIBC_TUNABLES and XLA_FLAGS are
recorded in the JSON. Without PyTorch (--torch=off, or not installed) only the JAX steps are
timed, their FLOPs from XLA's cost analysis.

The entries: benchmarks/bench/classifier.py, gan.py and diffusion.py (the diffusion arm's U-Net
step: EDM loss, Adam, EMA; the full variant's only when --only names it on a CPU); the harness:
bench/harness.py; the PyTorch twins: bench/torch_steps.py (the U-Net's: bench/torch_unet.py).

Each step also runs as <name>_bf16: liverjax with matmul_dtype='bfloat16' (the convolutions'
matmuls on bfloat16 operands, float32 sums; liverjax.models.conv_ops.matmul), against the same PyTorch step
in float32 (torch_ms, speedup_vs_torch) and under bfloat16 autocast (torch_bf16_ms,
speedup_vs_torch_bf16), all three interleaved. The bfloat16 matmul peak (bf16_gemm: 4096^3,
bfloat16 operands) is measured too, and those steps' % of it (jax_pct_of_bf16_peak,
torch_bf16_pct_of_bf16_peak); jax_pct_of_peak stays relative to the float32 sgemm peak.
And as <name>_xla: liverjax with conv_impl='xla' (XLA's own convolutions, cuDNN on a GPU, instead
of the patch-matrix layers; liverjax.models.layers) against the same float32 PyTorch step; on the CPU
only when --only names them (the classifier's takes ~11 s per step in scan there).

--device=cuda runs the PyTorch steps on the GPU (synchronized before each timer reads) and needs
JAX on a GPU too (writes benchmarks/results_gpu.json by default). There float32 products are TF32
in both libraries: JAX's default precision on such GPUs, and set for PyTorch here
(allow_tf32, cudnn.benchmark). The peaks are then 8192^3 TF32 and bfloat16 GPU matmuls.
"""

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402

from benchmarks.bench import classifier, diffusion, gan, harness  # noqa: E402


def entries() -> dict[str, harness.Entry]:
  """Returns every entry by name: the classifiers, the GANs, their _bf16 and _xla variants, and
  the diffusion model's U-Nets."""
  return {e.name: e for e in harness.variants(classifier.entries() + gan.entries())
          + diffusion.entries()}


def jax_step(entry: harness.Entry, batch: int = harness.BATCH):
  """Returns a builder of entry's JAX step at this batch size."""
  if entry.kind == 'classifier':
    return lambda: classifier.jax_step(entry.config, batch)
  return lambda: gan.jax_step(entry.config, entry.num_classes, batch)


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--steps', type=int, default=10)
  p.add_argument('--warmup', type=int, default=3)
  p.add_argument('--only', default='', help='comma-separated subset of ' + ','.join(entries()))
  p.add_argument('--threads', type=int, default=os.cpu_count())
  p.add_argument('--scan_steps', type=int, default=5,
                 help='also time this many JAX steps as one lax.scan epoch (0: skip)')
  p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                 help="cuda: PyTorch on the GPU, and JAX must run on one (float32 products are "
                 "then TF32 in both: JAX's default precision, set for PyTorch here)")
  p.add_argument('--cost_analysis', type=int, default=1,
                 help="0: skip XLA's cost analysis (one compile less per step)")
  p.add_argument('--bf16', choices=('auto', 'on', 'off'), default='auto',
                 help='time the bfloat16 peak and *_bf16 steps: auto = only on a GPU or a CPU '
                 'with bfloat16 instructions')
  p.add_argument('--torch', choices=('auto', 'off'), default='auto',
                 help='off: time the JAX steps alone (auto: with PyTorch where it is installed)')
  p.add_argument('--out', default=None,
                 help='default benchmarks/results.json (cpu), benchmarks/results_gpu.json (cuda)')
  args = p.parse_args()
  args.out = args.out or os.path.join(
      ROOT, 'benchmarks', 'results.json' if args.device == 'cpu' else 'results_gpu.json')
  try:
    if args.torch == 'off':
      raise ImportError('--torch=off')
    import torch
    from benchmarks.bench import torch_steps
  except ImportError as e:
    torch = torch_steps = None
    print(f'PyTorch not used ({e}): JAX steps alone, FLOPs from XLA', flush=True)
  if torch:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
  if args.device == 'cuda':
    if jax.default_backend() != 'gpu' or not torch.cuda.is_available():
      sys.exit(f'--device=cuda: JAX runs on {jax.default_backend()}, torch.cuda.is_available() '
               f'is {torch.cuda.is_available()}')
    torch.backends.cuda.matmul.allow_tf32 = True   # as JAX's default float32 precision on GPU
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
  todo = entries()
  if args.only:
    todo = {k: v for k, v in todo.items() if k in args.only.split(',')}
  elif args.device == 'cpu':   # XLA-CPU's own convolutions, the full U-Net: seconds per step
    todo = {k: v for k, v in todo.items() if not k.endswith('_xla') and k != 'diffusion'}
  use_bf16, why = harness.bf16_support(args.device)
  if args.bf16 != 'auto':
    use_bf16, why = args.bf16 == 'on', f'--bf16={args.bf16}'
  skipped = {}
  if not use_bf16:
    skipped = {k: why for k in todo if k.endswith('_bf16')}
    skipped['bf16_gemm'] = why
    todo = {k: v for k, v in todo.items() if not k.endswith('_bf16')}
  print(why, flush=True)
  n = 4096 if args.device == 'cpu' else 8192
  gemm = torch_steps.sgemm_peak if torch_steps else harness.jax_gemm_peak
  peak = gemm(n, device=args.device)
  peak_bf16 = gemm(n, bf16=True, device=args.device) if use_bf16 else None
  print(f'sgemm peak {peak["peak_gflops"]:.0f} GFLOP/s (torch {peak.get("torch_gflops", 0):.0f}, '
        f'jax {peak["jax_gflops"]:.0f}); '
        + (f'bfloat16 {peak_bf16["peak_gflops"]:.0f}; ' if peak_bf16 else 'bfloat16 not timed; ')
        + f'threads {args.threads}; jax {jax.__version__}, '
        + f'torch {torch.__version__ if torch else "not used"}', flush=True)
  results = {}

  def write():   # after every step, so that a run cut short keeps what it measured
    out = {'machine': {'platform': platform.platform(), 'processor': platform.processor(),
                       'cpu_count': os.cpu_count(), 'threads': args.threads,
                       'device': args.device, 'jax_devices': [str(d) for d in jax.devices()],
                       'torch_device': (torch.cuda.get_device_name() if args.device == 'cuda'
                                        else 'cpu') if torch else None},
           'versions': {'jax': jax.__version__, 'torch': torch.__version__ if torch else None,
                        'python': platform.python_version()},
           'xla_flags': os.environ.get('XLA_FLAGS', ''),
           'glibc_tunables': os.environ.get('GLIBC_TUNABLES', ''), 'batch': harness.BATCH,
           'steps': args.steps, 'warmup': args.warmup, 'sgemm': peak, 'bf16_gemm': peak_bf16,
           'results': results, 'skipped': skipped,
           'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
      json.dump(out, f, indent=2)
    os.replace(tmp, args.out)

  for name, entry in todo.items():
    torch_step = (lambda e=entry, b=False: torch_steps.step(e, b, args.device)) if torch else None
    torch_bf16 = ((lambda e=entry: torch_steps.step(e, True, args.device))
                  if torch and name.endswith('_bf16') else None)
    r = harness.time_step(jax_step(entry), torch_step, torch_bf16, args.steps, args.warmup,
                          args.scan_steps, bool(args.cost_analysis),
                          torch_steps.torch_flops if torch else None)
    r['description'] = entry.description
    r.update(harness.shares_of_peak(r, peak, peak_bf16 if name.endswith('_bf16') else None))
    results[name] = r
    print(harness.summary_line(name, r), flush=True)
    write()
  for name, reason in skipped.items():
    print(f'{name}: {reason}')
  print(f'-> {args.out}')


if __name__ == '__main__':
  main()
