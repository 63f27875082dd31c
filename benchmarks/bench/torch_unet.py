"""The PyTorch twin of the diffusion arm's U-Net (liverjax/models/unet.py) and of its train step
(liverjax/steps/diffusion.py: EDM's preconditioning and weighted loss, label dropout, one Adam
update, the weights' EMA): the same layers, widths, groups, heads and parameter count. Needs
PyTorch (benchmarks/requirements.txt), never a runtime dependency of liverjax."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn as tnn
from torch.nn import functional as F

from benchmarks.bench.harness import BATCH
from liverjax.models.unet import group_count


def _norm(c: int) -> tnn.GroupNorm:
  return tnn.GroupNorm(group_count(c), c, eps=1e-6)   # flax's GroupNorm epsilon


def _zero(m: tnn.Module) -> tnn.Module:
  for p in m.parameters():
    tnn.init.zeros_(p)
  return m


class ResBlock(tnn.Module):
  def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
    super().__init__()
    self.norm1, self.conv1 = _norm(cin), tnn.Conv2d(cin, cout, 3, padding=1)
    self.emb = tnn.Linear(emb_dim, 2 * cout)
    self.norm2, self.drop = _norm(cout), tnn.Dropout(dropout)
    self.conv2 = _zero(tnn.Conv2d(cout, cout, 3, padding=1))
    self.skip = tnn.Conv2d(cin, cout, 1) if cin != cout else tnn.Identity()

  def forward(self, x, emb):
    h = self.conv1(F.silu(self.norm1(x)))
    scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
    h = self.conv2(self.drop(F.silu(self.norm2(h) * (1 + scale) + shift)))
    return (self.skip(x) + h) * math.sqrt(0.5)


class Attention(tnn.Module):
  def __init__(self, c: int):
    super().__init__()
    self.norm = _norm(c)
    self.attn = tnn.MultiheadAttention(c, max(1, c // 64), batch_first=True)

  def forward(self, x):
    n, c, hgt, wid = x.shape
    h = self.norm(x).flatten(2).transpose(1, 2)
    h = self.attn(h, h, h, need_weights=False)[0]
    return x + h.transpose(1, 2).reshape(n, c, hgt, wid)


class TorchUNet(tnn.Module):
  """F(x_in, c_noise, labels) of liverjax.models.unet.UNet, NCHW."""

  def __init__(self, num_classes, channels, channel_mult, num_blocks, attn_resolutions,
               dropout, patch):
    super().__init__()
    self.channels, self.patch, self.num_classes = channels, patch, num_classes
    emb_dim, side = 4 * channels, 64 // patch
    self.emb1, self.emb2 = tnn.Linear(channels, emb_dim), tnn.Linear(emb_dim, emb_dim)
    self.label = tnn.Linear(num_classes, emb_dim, bias=False)
    block = lambda a, b: ResBlock(a, b, emb_dim, dropout)   # noqa: E731
    attn = lambda c, s: Attention(c) if s in attn_resolutions else tnn.Identity()   # noqa: E731
    self.stem = tnn.Conv2d(patch * patch, channels, 3, padding=1)
    self.down, skips, c = tnn.ModuleList(), [channels], channels
    for level, mult in enumerate(channel_mult):
      for _ in range(num_blocks):
        self.down.append(tnn.ModuleList([block(c, channels * mult), attn(channels * mult, side)]))
        c = channels * mult
        skips.append(c)
      if level < len(channel_mult) - 1:
        self.down.append(tnn.Conv2d(c, c, 3, stride=2, padding=1))
        skips.append(c)
        side //= 2
    self.mid = tnn.ModuleList([block(c, c), Attention(c), block(c, c)])
    self.up = tnn.ModuleList()
    for level, mult in reversed(list(enumerate(channel_mult))):
      for _ in range(num_blocks + 1):
        self.up.append(tnn.ModuleList([block(c + skips.pop(), channels * mult),
                                       attn(channels * mult, side)]))
        c = channels * mult
      if level > 0:
        self.up.append(tnn.Sequential(tnn.Upsample(scale_factor=2, mode='nearest'),
                                      tnn.Conv2d(c, c, 3, padding=1)))
        side *= 2
    self.out_norm = _norm(c)
    self.out = _zero(tnn.Conv2d(c, patch * patch, 3, padding=1))

  def forward(self, x, c_noise, labels):
    half = self.channels // 2
    freqs = (1.0 / 10_000) ** (torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
    angles = c_noise[:, None] * freqs.to(x.device)[None, :]
    emb = self.emb2(F.silu(self.emb1(torch.cat([angles.cos(), angles.sin()], 1))))
    one_hot = F.one_hot(labels.clamp(min=0), self.num_classes).float() * (labels >= 0)[:, None]
    emb = F.silu(emb + self.label(one_hot * math.sqrt(self.num_classes)))
    h = self.stem(F.pixel_unshuffle(x, self.patch))
    skips = [h]
    for m in self.down:
      h = m[1](m[0](h, emb)) if isinstance(m, tnn.ModuleList) else m(h)
      skips.append(h)
    h = self.mid[2](self.mid[1](self.mid[0](h, emb)), emb)
    for m in self.up:
      h = m[1](m[0](torch.cat([h, skips.pop()], 1), emb)) if isinstance(m, tnn.ModuleList) else m(h)
    return F.pixel_shuffle(self.out(F.silu(self.out_norm(h))), self.patch)


def torch_diffusion_step(gcfg, num_classes: int, bf16: bool = False, device: str = 'cpu'):
  """Returns (one EDM train step of the U-Net gcfg describes: loss, Adam, EMA; the module)."""
  del bf16   # no bfloat16 entry for the U-Net
  net = TorchUNet(num_classes, gcfg.channels, tuple(gcfg.channel_mult), gcfg.num_blocks,
                  tuple(gcfg.attn_resolutions), gcfg.dropout, gcfg.get('patch', 1)).to(device)
  ema = copy.deepcopy(net).requires_grad_(False)
  opt = torch.optim.Adam(net.parameters(), lr=gcfg.learning_rate)
  images = torch.rand(BATCH, 1, 64, 64, device=device) * 2 - 1
  labels = torch.randint(0, num_classes, (BATCH,), device=device)
  sd = gcfg.sigma_data
  net.train()

  def step():
    sigma = torch.exp(gcfg.p_mean + gcfg.p_std * torch.randn(BATCH, device=device))
    s = sigma[:, None, None, None]
    noisy = images + s * torch.randn_like(images)
    y = torch.where(torch.rand(BATCH, device=device) < gcfg.label_dropout, -1, labels)
    c_skip, c_out = sd ** 2 / (s ** 2 + sd ** 2), s * sd / (s ** 2 + sd ** 2).sqrt()
    d = c_skip * noisy + c_out * net(noisy / (s ** 2 + sd ** 2).sqrt(), sigma.log() / 4, y)
    weight = (sigma ** 2 + sd ** 2) / (sigma * sd) ** 2
    loss = (weight * ((d - images) ** 2).mean((1, 2, 3))).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
      torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()),
                           1.0 - gcfg.ema_decay)
    return loss
  return step, net
