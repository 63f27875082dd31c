"""Exact t-SNE (van der Maaten & Hinton 2008) in NumPy, for the few hundred points of a report.

O(N^2) memory and time: meant for N up to a few thousand (features of test ROIs and samples).
"""

from __future__ import annotations

import numpy as np


def _conditional_p(d2: np.ndarray, perplexity: float, tol: float = 1e-5) -> np.ndarray:
  """Returns row-wise conditional probabilities p_{j|i} with the given perplexity."""
  n = d2.shape[0]
  target = np.log(perplexity)
  p = np.zeros((n, n))
  for i in range(n):
    lo, hi, beta = 0.0, np.inf, 1.0
    di = np.delete(d2[i], i)
    di = di - di.min()
    for _ in range(64):
      w = np.exp(-di * beta)
      s = w.sum()
      h = np.log(s) + beta * (di * w).sum() / s
      if abs(h - target) < tol:
        break
      if h > target:
        lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
      else:
        hi, beta = beta, (beta + lo) / 2
    p[i, np.arange(n) != i] = w / s
  return p


def tsne(x: np.ndarray, dim: int = 2, perplexity: float = 30.0, iters: int = 750,
         seed: int = 0) -> np.ndarray:
  """Returns the (N, dim) t-SNE embedding of the rows of x (deterministic for a seed)."""
  x = np.asarray(x, np.float64)
  n = x.shape[0]
  perplexity = min(perplexity, (n - 1) / 3)
  x = x - x.mean(0)
  x = x / (np.abs(x).max() + 1e-12)
  sq = (x ** 2).sum(1)
  d2 = np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0)
  p = _conditional_p(d2, perplexity)
  p = np.maximum((p + p.T) / (2 * n), 1e-12)
  rng = np.random.default_rng(seed)
  y = rng.normal(0, 1e-4, (n, dim))
  velocity = np.zeros_like(y)
  gains = np.ones_like(y)
  for it in range(iters):
    exaggeration = 12.0 if it < 250 else 1.0
    momentum = 0.5 if it < 250 else 0.8
    sy = (y ** 2).sum(1)
    num = 1.0 / (1.0 + np.maximum(sy[:, None] + sy[None] - 2 * y @ y.T, 0))
    np.fill_diagonal(num, 0.0)
    q = np.maximum(num / num.sum(), 1e-12)
    w = (exaggeration * p - q) * num
    grad = 4.0 * (np.diag(w.sum(1)) - w) @ y
    gains = np.where(np.sign(grad) != np.sign(velocity), gains + 0.2, gains * 0.8)
    gains = np.maximum(gains, 0.01)
    velocity = momentum * velocity - 200.0 * gains * grad
    y = y + velocity
    y = y - y.mean(0)
  return y
