import numpy as np

from liverjax import tsne


def test_tsne_keeps_clusters_apart_and_is_deterministic():
  rng = np.random.default_rng(0)
  centres = rng.normal(0, 10, (3, 20))
  labels = np.repeat(np.arange(3), 40)
  x = centres[labels] + rng.normal(0, 1, (120, 20))
  y = tsne.tsne(x, perplexity=15, iters=400)
  assert y.shape == (120, 2) and np.all(np.isfinite(y))
  # each point's nearest neighbour in the embedding has its label
  d = ((y[:, None] - y[None]) ** 2).sum(-1) + np.eye(120) * 1e9
  assert np.mean(labels[d.argmin(1)] == labels) > 0.95
  np.testing.assert_array_equal(y, tsne.tsne(x, perplexity=15, iters=400))
