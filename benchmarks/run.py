"""Train-step benchmark: liverjax (JAX/Flax, jitted) vs the same architectures in PyTorch eager
(CPU; GPU with --device=cuda).

  pip install -r benchmarks/requirements.txt      # torch==2.13.0, CPU; never a runtime dependency
  python benchmarks/run.py [--steps=10] [--warmup=3] [--only=classifier,dcgan_half] [--out=FILE]
                           [--scan_steps=5]

For each step (batch 64, 64x64x1): the liverjax train step (`train.train_step` for the classifier,
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
recorded in the JSON.

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
import contextlib
import functools
import json
import os
import platform
import resource
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import torch  # noqa: E402
from torch import nn as tnn  # noqa: E402

from configs import common  # noqa: E402
from liverjax.experiment import builders  # noqa: E402
from liverjax.models import classifier  # noqa: E402
from liverjax.steps import classifier as train  # noqa: E402
from liverjax.steps import epochs, gan  # noqa: E402

BATCH = 64


# ----------------------------------------------------------------------------- PyTorch models
class TorchClassifier(tnn.Module):
  def __init__(self, features=(32, 64, 128), k=3, dense=500, num_classes=3):
    super().__init__()
    layers, c = [], 1
    for w in features:
      layers += [tnn.Conv2d(c, w, k, padding=k // 2), tnn.ReLU(), tnn.MaxPool2d(2)]
      c = w
    side = 64 // 2 ** len(features)
    self.body = tnn.Sequential(*layers, tnn.Flatten(), tnn.Linear(c * side * side, dense),
                               tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(dense, num_classes))

  def forward(self, x):
    return self.body(x)


class TorchGenerator(tnn.Module):
  def __init__(self, widths, k, z_dim=100, num_classes=0):
    super().__init__()
    self.w0, self.num_classes = widths[0], num_classes
    self.fc = tnn.Linear(z_dim + num_classes, 16 * widths[0], bias=False)
    self.bn0 = tnn.BatchNorm2d(widths[0], momentum=0.1, eps=1e-5)
    layers = []   # output 2x the input for odd and even k
    for cin, cout in zip(widths[:-1], widths[1:]):
      layers += [tnn.ConvTranspose2d(cin, cout, k, 2, (k - 1) // 2, output_padding=k % 2,
                                    bias=False),
                 tnn.BatchNorm2d(cout), tnn.ReLU()]
    layers += [tnn.ConvTranspose2d(widths[-1], 1, k, 2, (k - 1) // 2, output_padding=k % 2),
               tnn.Tanh()]
    self.body = tnn.Sequential(*layers)

  def forward(self, z, labels=None):
    if self.num_classes:
      z = torch.cat([z, tnn.functional.one_hot(labels, self.num_classes).float()], 1)
    x = torch.relu(self.bn0(self.fc(z).view(-1, self.w0, 4, 4)))
    return self.body(x)


class TorchDCGAND(tnn.Module):
  def __init__(self, widths, k):
    super().__init__()
    layers, c = [], 1
    for i, w in enumerate(widths):
      layers.append(tnn.Conv2d(c, w, k, 2, k // 2, bias=i == 0))
      if i > 0:
        layers.append(tnn.BatchNorm2d(w))
      layers.append(tnn.LeakyReLU(0.2))
      c = w
    side = 64 // 2 ** len(widths)
    self.body = tnn.Sequential(*layers, tnn.Flatten(), tnn.Linear(c * side * side, 1))

  def forward(self, x):
    return self.body(x)[:, 0], None


class TorchACGAND(tnn.Module):
  def __init__(self, widths, k, num_classes, dropout=0.5):
    super().__init__()
    layers, c, side = [], 1, 64
    for i, w in enumerate(widths):
      s = 2 if i % 2 == 0 else 1
      layers += [tnn.Conv2d(c, w, k, s, k // 2), tnn.LeakyReLU(0.2), tnn.Dropout(dropout)]
      c, side = w, side // s
    self.body = tnn.Sequential(*layers, tnn.Flatten())
    self.src = tnn.Linear(c * side * side, 1)
    self.cls = tnn.Linear(c * side * side, num_classes)

  def forward(self, x):
    h = self.body(x)
    return self.src(h)[:, 0], self.cls(h)


def _autocast(bf16: bool, device: str = 'cpu'):
  """PyTorch's mixed precision (bfloat16 convolutions and matmuls) for forward passes."""
  return (torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext())


def _synced(step, device: str):
  """Returns step, made to wait for the GPU's work on cuda (so that host timers time it)."""
  if device == 'cpu':
    return step

  def run():
    out = step()
    torch.cuda.synchronize()
    return out
  return run


def torch_classifier_step(cfg, bf16=False, device='cpu'):
  model = TorchClassifier(tuple(cfg.model.features), cfg.model.kernel_size,
                          cfg.model.dense).to(device)
  opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
  x = torch.rand(BATCH, 1, 64, 64, device=device)
  y = torch.randint(0, 3, (BATCH,), device=device)
  model.train()

  def step():
    opt.zero_grad(set_to_none=True)
    with _autocast(bf16, device):
      loss = tnn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
  return _synced(step, device), model


def torch_gan_step(gcfg, num_classes, bf16=False, device='cpu'):
  acgan = gcfg.kind == 'acgan'
  G = TorchGenerator(tuple(gcfg.g_widths), gcfg.g_kernel_size, gcfg.z_dim,
                     num_classes if acgan else 0).to(device)
  D = (TorchACGAND(tuple(gcfg.d_widths), gcfg.d_kernel_size, num_classes, gcfg.dropout) if acgan
       else TorchDCGAND(tuple(gcfg.d_widths), gcfg.d_kernel_size)).to(device)
  opt_g = torch.optim.Adam(G.parameters(), lr=gcfg.learning_rate, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(D.parameters(), lr=gcfg.learning_rate, betas=(0.5, 0.999))
  real = torch.rand(BATCH, 1, 64, 64, device=device) * 2 - 1
  y = torch.randint(0, num_classes, (BATCH,), device=device)
  bce = tnn.functional.binary_cross_entropy_with_logits
  ce = tnn.functional.cross_entropy
  ones, zeros = torch.ones(BATCH, device=device), torch.zeros(BATCH, device=device)

  def step():
    z1 = torch.rand(BATCH, gcfg.z_dim, device=device) * 2 - 1
    y1 = torch.randint(0, num_classes, (BATCH,), device=device)
    with torch.no_grad(), _autocast(bf16, device):
      fake = G(z1, y1)
    opt_d.zero_grad(set_to_none=True)
    with _autocast(bf16, device):
      s_real, c_real = D(real)
      s_fake, c_fake = D(fake)
      d_loss = bce(s_real.float(), ones) + bce(s_fake.float(), zeros)
      if acgan:
        d_loss = d_loss + ce(c_real.float(), y) + ce(c_fake.float(), y1)
    d_loss.backward()
    opt_d.step()
    z2 = torch.rand(BATCH, gcfg.z_dim, device=device) * 2 - 1
    y2 = torch.randint(0, num_classes, (BATCH,), device=device)
    opt_g.zero_grad(set_to_none=True)
    with _autocast(bf16, device):
      s, c = D(G(z2, y2))
      g_loss = bce(s.float(), ones) + (ce(c.float(), y2) if acgan else 0.0)
    g_loss.backward()
    opt_g.step()
    return g_loss
  return _synced(step, device), (G, D)


# ----------------------------------------------------------------------------- JAX steps
def jax_classifier_step(cfg):
  model = classifier.Classifier(num_classes=3, features=tuple(cfg.model.features),
                            kernel_size=cfg.model.kernel_size, dense=cfg.model.dense,
                            input_grad=False,   # as liverjax.experiment trains it
                            matmul_dtype=builders.matmul_dtype(cfg.model.matmul_dtype),
                            conv_impl=builders.conv_impl(cfg.model.conv_impl,
                                                       cfg.model.matmul_dtype))
  tx = train.make_optimizer(1e-3, 0.9, True)
  state = train.init_state(model, tx, jax.random.key(0), jnp.zeros((64, 64, 1)))
  batch = {'image': jax.random.uniform(jax.random.key(1), (BATCH, 64, 64, 1)),
           'label': jax.random.randint(jax.random.key(2), (BATCH,), 0, 3)}
  return functools.partial(train.train_step, model=model, tx=tx), state, batch


def jax_gan_step(gcfg, num_classes):
  setup = builders.make_gan_setup(gcfg, num_classes)
  state = gan.init_state(setup, jax.random.key(0))
  batch = {'image': jax.random.uniform(jax.random.key(1), (BATCH, 64, 64, 1)),
           'label': jax.random.randint(jax.random.key(2), (BATCH,), 0, num_classes)}
  return functools.partial(gan.train_step, setup=setup), state, batch


def dcgan_config(widths: str) -> ml_collections.ConfigDict:
  """Returns the DCGAN config at the paper's widths ('paper'), half of them ('half'), or the
  :quick variant's ('quick': configs.variants.GAN_QUICK)."""
  g = common.gan_config('dcgan')
  if widths == 'half':
    g.g_widths = tuple(w // 2 for w in g.g_widths)
    g.d_widths = tuple(w // 2 for w in g.d_widths)
  elif widths == 'quick':
    g = common.gan_quick(g)
  elif widths != 'paper':
    raise ValueError(f'widths={widths!r}: expected paper, half or quick')
  return g


def steps_to_run(device: str = 'cpu'):
  """Returns {name: (description, jax builder, PyTorch builder, PyTorch autocast builder)}. The
  *_bf16 steps run liverjax with matmul_dtype='bfloat16' and time PyTorch in float32 (torch_ms,
  speedup_vs_torch) and under bfloat16 autocast (torch_bf16_ms, speedup_vs_torch_bf16)."""
  base = common.base_config()
  dcgan = dcgan_config('paper')
  half = dcgan_config('half')
  acgan = common.gan_config('acgan')
  quick = dcgan_config('quick')
  quick.ema_decay = 0.0   # the weight average is not part of the PyTorch step
  steps = {
      'classifier': ('paper classifier (32/64/128, dense 500), SGD Nesterov', base,
                     jax_classifier_step, torch_classifier_step),
      'dcgan': ('DCGAN, paper widths G 1024 / D 512, D+G update', dcgan,
                functools.partial(jax_gan_step, num_classes=1),
                functools.partial(torch_gan_step, num_classes=1)),
      'dcgan_half': ('DCGAN, half widths G 512 / D 256, D+G update', half,
                     functools.partial(jax_gan_step, num_classes=1),
                     functools.partial(torch_gan_step, num_classes=1)),
      'dcgan_quick': (f'DCGAN, :quick widths G {quick.g_widths[0]} / D {quick.d_widths[-1]}, '
                      'D+G update', quick,
                      functools.partial(jax_gan_step, num_classes=1),
                      functools.partial(torch_gan_step, num_classes=1)),
      'acgan': ('ACGAN (G 512, D 32..512 3x3, 3 classes), D+G update', acgan,
                functools.partial(jax_gan_step, num_classes=3),
                functools.partial(torch_gan_step, num_classes=3)),
  }
  out = {}
  for name, (desc, cfg, jb, tb) in steps.items():
    out[name] = (desc, functools.partial(jb, cfg), functools.partial(tb, cfg, device=device),
                 None)
  for name, (desc, cfg, jb, tb) in steps.items():
    cfg = cfg.copy_and_resolve_references()
    (cfg.model if name == 'classifier' else cfg).matmul_dtype = 'bfloat16'
    out[name + '_bf16'] = (desc + '; bfloat16 matmul operands, float32 sums',
                           functools.partial(jb, cfg), functools.partial(tb, cfg, device=device),
                           functools.partial(tb, cfg, bf16=True, device=device))
  for name, (desc, cfg, jb, tb) in steps.items():
    cfg = cfg.copy_and_resolve_references()
    (cfg.model if name == 'classifier' else cfg).conv_impl = 'xla'
    out[name + '_xla'] = (desc + "; conv_impl='xla' (XLA's own convolutions; cuDNN on a GPU)",
                          functools.partial(jb, cfg), functools.partial(tb, cfg, device=device),
                          None)
  return out


def torch_flops(step) -> float:
  from torch.utils.flop_counter import FlopCounterMode
  with FlopCounterMode(display=False) as counter:
    step()
  return float(counter.get_total_flops())


def xla_cost(fn, *args) -> tuple[float | None, float | None]:
  """Returns (FLOPs, temp buffer MB) of the compiled step from XLA's analyses (best effort)."""
  try:
    compiled = fn.lower(*args).compile()
  except Exception:
    return None, None
  flops = temp_mb = None
  try:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):
      cost = cost[0]
    flops = float(cost.get('flops', float('nan')))
  except Exception:
    pass
  try:
    temp_mb = compiled.memory_analysis().temp_size_in_bytes / 2 ** 20
  except Exception:
    pass
  return flops, temp_mb


def sgemm_peak(n: int = 4096, reps: int = 5, bf16: bool = False, device: str = 'cpu') -> dict:
  """Returns GFLOP/s of an n^3 float32 matmul in PyTorch and in JAX (best of reps each); with
  bf16, of bfloat16 operands with float32 sums (JAX) and PyTorch's bfloat16 matmul. On cuda,
  float32 means TF32 tensor-core products in both libraries (JAX's default precision there)."""
  a, b = torch.rand(n, n), torch.rand(n, n)
  ja, jb = jnp.asarray(a.numpy()), jnp.asarray(b.numpy())
  a, b = a.to(device), b.to(device)
  if bf16:
    a, b = a.bfloat16(), b.bfloat16()
    ja, jb = ja.astype(jnp.bfloat16), jb.astype(jnp.bfloat16)
  mm_torch = _synced(lambda: torch.mm(a, b), device)
  mm_torch()
  t_torch = min(_time(mm_torch) for _ in range(reps))
  mm = jax.jit(functools.partial(jnp.dot, preferred_element_type=jnp.float32))
  mm(ja, jb).block_until_ready()
  t_jax = min(_time(lambda: mm(ja, jb).block_until_ready()) for _ in range(reps))
  flop = 2.0 * n ** 3
  return {'torch_gflops': flop / t_torch / 1e9, 'jax_gflops': flop / t_jax / 1e9,
          'peak_gflops': flop / min(t_torch, t_jax) / 1e9, 'n': n}


def _time(f) -> float:
  t = time.perf_counter()
  f()
  return time.perf_counter() - t


def _faults(f) -> int:
  """Returns the minor page faults of the process while f runs."""
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  f()
  return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def scan_ms(step_fn, state, batch, key, steps: int, reps: int = 3) -> float:
  """Returns ms per step of `steps` steps run as one epoch under lax.scan (epochs.train_epoch,
  as training runs them), median of reps after a compiling call."""
  data = {name: jnp.concatenate([a] * steps) for name, a in batch.items()}
  epoch = jax.jit(functools.partial(epochs.train_epoch, step_fn=step_fn, batch_size=BATCH),
                  donate_argnums=0)
  state = jax.tree.map(jnp.copy, state)
  state, _ = jax.block_until_ready(epoch(state, data, key))
  times = []
  for _ in range(reps):
    t = time.perf_counter()
    state, _ = jax.block_until_ready(epoch(state, data, key))
    times.append(time.perf_counter() - t)
  return 1e3 * statistics.median(times) / steps


def bench(jax_builder, torch_builder, steps, warmup, scan_steps, torch_bf16_builder=None,
          cost_analysis=True):
  step_fn, state, batch = jax_builder()
  key = jax.random.key(3)
  jax_scan_ms = scan_ms(step_fn, state, batch, key, scan_steps) if scan_steps else None
  fn = jax.jit(step_fn, donate_argnums=0)
  flops_xla, temp_mb = xla_cost(fn, state, batch, key) if cost_analysis else (None, None)
  t_step, _ = torch_builder()
  flops = torch_flops(t_step)
  t_bf16 = torch_bf16_builder()[0] if torch_bf16_builder else None
  # Torch layout: NCHW (contiguous) vs channels_last, pick the faster in warm-up.
  holder = {'state': state}

  def run_jax():
    holder['state'], metrics = fn(holder['state'], batch, key)
    jax.block_until_ready((holder['state'], metrics))

  t_compile = _time(run_jax)
  for _ in range(warmup):
    run_jax()
    t_step()
    if t_bf16:
      t_bf16()
  jax_times, torch_times, bf16_times = [], [], []
  for _ in range(steps):
    jax_times.append(_time(run_jax))
    torch_times.append(_time(t_step))
    if t_bf16:
      bf16_times.append(_time(t_bf16))
  jax_ms, torch_ms = 1e3 * statistics.median(jax_times), 1e3 * statistics.median(torch_times)
  jax_faults = statistics.median(_faults(run_jax) for _ in range(3))
  torch_faults = statistics.median(_faults(t_step) for _ in range(3))
  extra = {}
  if t_bf16:
    bf16_ms = 1e3 * statistics.median(bf16_times)
    extra = {'torch_bf16_ms': round(bf16_ms, 1),
             'speedup_vs_torch_bf16': round(bf16_ms / jax_ms, 3),
             'speedup_in_scan_vs_torch_bf16': (None if jax_scan_ms is None
                                               else round(bf16_ms / jax_scan_ms, 3)),
             'torch_bf16_ms_all': [round(1e3 * t, 1) for t in bf16_times]}
  return {'jax_ms': round(jax_ms, 1), 'torch_ms': round(torch_ms, 1),
          'speedup_vs_torch': round(torch_ms / jax_ms, 3),
          'gflop_per_step': round(flops / 1e9, 2),
          'xla_gflop_per_step': None if flops_xla is None else round(flops_xla / 1e9, 2),
          'jax_gflops': round(flops / jax_ms / 1e6, 1),
          'torch_gflops': round(flops / torch_ms / 1e6, 1),
          'jax_first_call_s': round(t_compile, 1),
          'jax_temp_mb': None if temp_mb is None else round(temp_mb, 1),
          'jax_minor_faults_per_step': int(jax_faults),
          'torch_minor_faults_per_step': int(torch_faults),
          'jax_scan_ms': None if jax_scan_ms is None else round(jax_scan_ms, 1),
          'speedup_in_scan_vs_torch': (None if jax_scan_ms is None
                                       else round(torch_ms / jax_scan_ms, 3)),
          'jax_ms_all': [round(1e3 * t, 1) for t in jax_times],
          'torch_ms_all': [round(1e3 * t, 1) for t in torch_times], **extra}


BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


def bf16_support(device: str) -> tuple[bool, str]:
  """Returns (whether to time bfloat16, why): on a CPU only if it has bfloat16 instructions
  (/proc/cpuinfo flags avx512_bf16 or amx_bf16); without them PyTorch's bfloat16 matmul runs at
  about 1 GFLOP/s on a 2-core AVX2 CPU, and its 4096^3 peak alone would take hours."""
  if device != 'cpu':
    return True, f'{device}: bfloat16 timed'
  try:
    with open('/proc/cpuinfo') as f:
      flags = set(next((ln.split(':', 1)[1].split() for ln in f if ln.startswith('flags')), []))
  except OSError:
    flags = set()
  have = [x for x in BF16_CPU_FLAGS if x in flags]
  if have:
    return True, f'CPU flags {", ".join(have)}: bfloat16 timed'
  return False, (f'skipped the bfloat16 peak and the *_bf16 steps: this CPU has none of the '
                 f'bfloat16 flags {", ".join(BF16_CPU_FLAGS)} (pass --bf16=on to time them anyway)')


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--steps', type=int, default=10)
  p.add_argument('--warmup', type=int, default=3)
  p.add_argument('--only', default='', help='comma-separated subset of ' +
                 ','.join(steps_to_run()))
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
  p.add_argument('--out', default=None,
                 help='default benchmarks/results.json (cpu), benchmarks/results_gpu.json (cuda)')
  args = p.parse_args()
  args.out = args.out or os.path.join(
      ROOT, 'benchmarks', 'results.json' if args.device == 'cpu' else 'results_gpu.json')
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  if args.device == 'cuda':
    if jax.default_backend() != 'gpu' or not torch.cuda.is_available():
      sys.exit(f'--device=cuda: JAX runs on {jax.default_backend()}, torch.cuda.is_available() '
               f'is {torch.cuda.is_available()}')
    torch.backends.cuda.matmul.allow_tf32 = True   # as JAX's default float32 precision on GPU
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
  todo = steps_to_run(args.device)
  if args.only:
    todo = {k: v for k, v in todo.items() if k in args.only.split(',')}
  elif args.device == 'cpu':   # XLA-CPU's own convolutions: seconds to minutes per step
    todo = {k: v for k, v in todo.items() if not k.endswith('_xla')}
  use_bf16, why = bf16_support(args.device)
  if args.bf16 != 'auto':
    use_bf16, why = args.bf16 == 'on', f'--bf16={args.bf16}'
  skipped = {}
  if not use_bf16:
    skipped = {k: why for k in todo if k.endswith('_bf16')}
    skipped['bf16_gemm'] = why
    todo = {k: v for k, v in todo.items() if not k.endswith('_bf16')}
  print(why, flush=True)
  n = 4096 if args.device == 'cpu' else 8192
  peak = sgemm_peak(n, device=args.device)
  peak_bf16 = sgemm_peak(n, bf16=True, device=args.device) if use_bf16 else None
  print(f'sgemm peak {peak["peak_gflops"]:.0f} GFLOP/s (torch {peak["torch_gflops"]:.0f}, jax '
        f'{peak["jax_gflops"]:.0f}); '
        + (f'bfloat16 {peak_bf16["peak_gflops"]:.0f} (torch {peak_bf16["torch_gflops"]:.0f}, '
           f'jax {peak_bf16["jax_gflops"]:.0f}); ' if peak_bf16 else 'bfloat16 not timed; ')
        + f'threads {args.threads}; jax {jax.__version__}, torch {torch.__version__}', flush=True)
  results = {}

  def write():   # after every step, so that a run cut short keeps what it measured
    out = {'machine': {'platform': platform.platform(), 'processor': platform.processor(),
                       'cpu_count': os.cpu_count(), 'threads': args.threads,
                       'device': args.device, 'jax_devices': [str(d) for d in jax.devices()],
                       'torch_device': (torch.cuda.get_device_name() if args.device == 'cuda'
                                        else 'cpu')},
           'versions': {'jax': jax.__version__, 'torch': torch.__version__,
                        'python': platform.python_version()},
           'xla_flags': os.environ.get('XLA_FLAGS', ''),
           'glibc_tunables': os.environ.get('GLIBC_TUNABLES', ''), 'batch': BATCH,
           'steps': args.steps, 'warmup': args.warmup, 'sgemm': peak, 'bf16_gemm': peak_bf16,
           'results': results, 'skipped': skipped,
           'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
      json.dump(out, f, indent=2)
    os.replace(tmp, args.out)

  for name, (desc, jb, tb, tb_bf16) in todo.items():
    r = bench(jb, tb, args.steps, args.warmup, args.scan_steps, tb_bf16,
              bool(args.cost_analysis))
    r['description'] = desc
    r['jax_pct_of_peak'] = round(100 * r['jax_gflops'] / peak['peak_gflops'], 1)
    r['torch_pct_of_peak'] = round(100 * r['torch_gflops'] / peak['peak_gflops'], 1)
    if name.endswith('_bf16'):   # mixed precision: % of the bfloat16 matmul peak too
      r['jax_pct_of_bf16_peak'] = round(100 * r['jax_gflops'] / peak_bf16['peak_gflops'], 1)
      r['torch_bf16_pct_of_bf16_peak'] = round(
          100 * r['gflop_per_step'] * 1e3 / r['torch_bf16_ms'] / peak_bf16['peak_gflops'], 1)
    results[name] = r
    print(f'{name:<12} jax {r["jax_ms"]:9.1f} ms  torch {r["torch_ms"]:9.1f} ms  speed-up '
          f'{r["speedup_vs_torch"]:5.2f}x  {r["gflop_per_step"]:7.1f} GFLOP  jax '
          f'{r["jax_pct_of_peak"]:5.1f}% / torch {r["torch_pct_of_peak"]:5.1f}% of peak'
          f'  page faults/step jax {r["jax_minor_faults_per_step"]} torch '
          f'{r["torch_minor_faults_per_step"]}'
          + (f'  jax in scan {r["jax_scan_ms"]:.1f} ms/step ({r["speedup_in_scan_vs_torch"]:.2f}x)'
             if r['jax_scan_ms'] else '')
          + (f'  torch bf16 autocast {r["torch_bf16_ms"]:.1f} ms '
             f'({r["speedup_vs_torch_bf16"]:.2f}x); % of bf16 peak jax '
             f'{r["jax_pct_of_bf16_peak"]:.1f} torch {r["torch_bf16_pct_of_bf16_peak"]:.1f}'
             if 'torch_bf16_ms' in r else ''),
          flush=True)
    write()
  for name, reason in skipped.items():
    print(f'{name}: {reason}')
  print(f'-> {args.out}')


if __name__ == '__main__':
  main()
