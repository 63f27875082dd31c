"""The PyTorch twins of liverjax's models and train steps (same layers, widths, kernels, strides,
losses and optimizers), PyTorch's FLOP counter, and the sgemm peak of both libraries. Needs
PyTorch (benchmarks/requirements.txt), never a runtime dependency of liverjax."""

from __future__ import annotations

import contextlib
import functools

import jax
import jax.numpy as jnp
import torch
from torch import nn as tnn

from benchmarks.bench.harness import BATCH, Entry, seconds


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
  t_torch = min(seconds(mm_torch) for _ in range(reps))
  mm = jax.jit(functools.partial(jnp.dot, preferred_element_type=jnp.float32))
  mm(ja, jb).block_until_ready()
  t_jax = min(seconds(lambda: mm(ja, jb).block_until_ready()) for _ in range(reps))
  flop = 2.0 * n ** 3
  return {'torch_gflops': flop / t_torch / 1e9, 'jax_gflops': flop / t_jax / 1e9,
          'peak_gflops': flop / min(t_torch, t_jax) / 1e9, 'n': n}


def torch_flops(step) -> float:
  from torch.utils.flop_counter import FlopCounterMode
  with FlopCounterMode(display=False) as counter:
    step()
  return float(counter.get_total_flops())


def step(entry: Entry, bf16: bool = False, device: str = 'cpu'):
  """Returns (the PyTorch twin of entry's train step, its modules)."""
  if entry.kind == 'classifier':
    return torch_classifier_step(entry.config, bf16, device)
  if entry.kind == 'diffusion':
    from benchmarks.bench import torch_unet   # noqa: PLC0415 -- the U-Net's twin, apart
    return torch_unet.torch_diffusion_step(entry.config, entry.num_classes, bf16, device)
  return torch_gan_step(entry.config, entry.num_classes, bf16, device)
