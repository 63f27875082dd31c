"""Classic augmentation on the device: rotation, flips, translation and scaling as pure functions.

Everything here is a pure, jittable function of a PRNG key and arrays; nothing touches the host.
One geometric primitive, :func:`warp`, resamples an image under an affine map (bilinear, reflected
borders, so values stay in the input's range). On top of it:

- :func:`paper_variant` -- variant ``v`` (0 <= v < 480) of one ROI in the paper's recipe: 30
  rotations at random angles in [0, 180) degrees, each rotated copy kept as is (1), flipped (3:
  up-down, left-right, both), translated (7: random shift in (-p, p) with p = min(4 px, 0.1 x lesion
  diameter)) or scaled (5: random zoom in ``scale_range``): 30 x (1 + 3 + 7 + 5) = 480;
- :func:`classic_augment` -- an augmented training set of a requested size, each ROI contributing
  an equal share (+-1) of distinct paper variants (sampling restarts after 480 variants of a ROI);
- :func:`random_variant` -- a cheap random rotation/flip/shift/zoom of every image of a batch,
  for on-the-fly augmentation inside a training step.

Coordinates: pixel centres at integers, rotation about the image centre ((H-1)/2, (W-1)/2); a zero
angle, no flip, zero shift and unit zoom sample exactly the input grid, so they return the input.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from liverjax.base import errors
from liverjax.base.padding import valid_first

N_ROT, N_FLIP, N_TRANS, N_SCALE = 30, 3, 7, 5
OPS_PER_ROTATION = 1 + N_FLIP + N_TRANS + N_SCALE   # 16
VARIANTS_PER_ROI = N_ROT * OPS_PER_ROTATION          # 480


def max_shift(diameter_px: jax.Array, cap_px: float = 4.0, fraction: float = 0.1) -> jax.Array:
  """Returns the paper's translation bound p = min(cap_px, fraction x lesion diameter) in pixels."""
  return jnp.minimum(cap_px, fraction * diameter_px)


def warp(image: jax.Array, angle_deg, flip_ud, flip_lr, shift, scale) -> jax.Array:
  """Returns image (H, W, C) flipped, rotated by angle_deg, zoomed by scale, then shifted (dy, dx).

  The forward map is x -> centre + shift + scale * R(angle) F (x - centre); each output pixel
  samples the input at the inverse map, bilinearly, with reflected borders.
  """
  h, w = image.shape[:2]
  centre = jnp.array([(h - 1) / 2.0, (w - 1) / 2.0], jnp.float32)
  theta = jnp.deg2rad(jnp.asarray(angle_deg, jnp.float32))
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  rot_inv = jnp.array([[cos, sin], [-sin, cos]])            # R(-angle), rows/cols = (y, x)
  flip = jnp.diag(jnp.where(jnp.array([flip_ud, flip_lr]), -1.0, 1.0))
  inv = flip @ rot_inv / jnp.asarray(scale, jnp.float32)     # F^-1 R^-1 / s (F^-1 = F)
  yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32),
                        indexing='ij')
  out = jnp.stack([yy, xx]) - (centre + jnp.asarray(shift, jnp.float32))[:, None, None]
  src = jnp.einsum('ij,jhw->ihw', inv, out) + centre[:, None, None]
  channels = [jax.scipy.ndimage.map_coordinates(image[..., c], [src[0], src[1]], order=1,
                                                mode='reflect') for c in range(image.shape[-1])]
  return jnp.stack(channels, axis=-1)


def paper_variant(key: jax.Array, image: jax.Array, diameter_px, variant: jax.Array,
                  scale_range=(0.85, 1.15), shift_cap_px: float = 4.0) -> jax.Array:
  """Returns variant `variant` (0..479) of one ROI under the paper's classic recipe.

  `key` is the ROI's own key: the 16 variants of one rotation share its angle, so a ROI's 480
  variants are a deterministic function of (key, image).
  """
  rotation, op = variant // OPS_PER_ROTATION, variant % OPS_PER_ROTATION
  k_rot = jax.random.fold_in(key, rotation)
  angle = jax.random.uniform(jax.random.fold_in(k_rot, 0), (), minval=0.0, maxval=180.0)
  k_op = jax.random.fold_in(k_rot, 1 + op)
  flip_ud = (op == 1) | (op == 3)
  flip_lr = (op == 2) | (op == 3)
  is_trans = (op >= 1 + N_FLIP) & (op < 1 + N_FLIP + N_TRANS)
  is_scale = op >= 1 + N_FLIP + N_TRANS
  p = max_shift(diameter_px, shift_cap_px)
  shift = jnp.where(is_trans, jax.random.uniform(k_op, (2,), minval=-1.0, maxval=1.0) * p, 0.0)
  scale = jnp.where(is_scale, jax.random.uniform(k_op, (), minval=scale_range[0],
                                                 maxval=scale_range[1]), 1.0)
  return warp(image, angle, flip_ud, flip_lr, shift, scale)


def classic_augment(key: jax.Array, images: jax.Array, labels: jax.Array, diameter_px: jax.Array,
                    size: int, scale_range=(0.85, 1.15), shift_cap_px: float = 4.0,
                    chunk: int = 256, n=None) -> tuple[jax.Array, jax.Array]:
  """Returns (images, labels) of a classic augmented set of `size` paper variants of the ROIs.

  Output i comes from ROI ``perm[i % n]`` (a random permutation of the n ROIs), as that ROI's
  ``i // n``-th variant in its own random order of the 480; so each ROI contributes size // n or
  size // n + 1 distinct variants (repeating after 480). `size` is static; jit with it static.
  `n` (may be traced): only the first n rows are ROIs, the rest padding
  (:func:`liverjax.base.padding.pad_rows`); default all rows.
  """
  rows = images.shape[0]
  n = rows if n is None else n
  k_perm, k_order, k_roi = jax.random.split(key, 3)
  i = jnp.arange(size)
  roi = valid_first(k_perm, n, rows)[i % n]
  occurrence = i // n

  def one(args):
    r, j = args
    order = jax.random.permutation(jax.random.fold_in(k_order, r), VARIANTS_PER_ROI)
    variant = order[j % VARIANTS_PER_ROI]
    return paper_variant(jax.random.fold_in(k_roi, r), images[r], diameter_px[r], variant,
                         scale_range, shift_cap_px)

  out = jax.lax.map(one, (roi, occurrence), batch_size=min(chunk, size))
  return out, labels[roi]


def random_variant(key: jax.Array, images: jax.Array, diameter_px: jax.Array,
                   scale_range=(0.85, 1.15), shift_cap_px: float = 4.0) -> jax.Array:
  """Returns a batch (N, H, W, C) with an independent random rotation/flip/shift/zoom per image."""
  n = images.shape[0]
  k_a, k_f, k_s, k_z = jax.random.split(key, 4)
  angle = jax.random.uniform(k_a, (n,), minval=0.0, maxval=360.0)
  flips = jax.random.bernoulli(k_f, 0.5, (n, 2))
  shift = jax.random.uniform(k_s, (n, 2), minval=-1.0, maxval=1.0) * max_shift(
      diameter_px, shift_cap_px)[:, None]
  scale = jax.random.uniform(k_z, (n,), minval=scale_range[0], maxval=scale_range[1])
  return jax.vmap(warp)(images, angle, flips[:, 0], flips[:, 1], shift, scale)


def mix_synthetic(key: jax.Array, real_images: jax.Array, real_labels: jax.Array,
                  gen_images: jax.Array, gen_labels: jax.Array,
                  per_class: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
  """Returns (images, labels): the real training images (already classic-augmented) plus exactly
  per_class[c] generated images of each class c, drawn without replacement, all shuffled.

  `per_class` is static (jit with it static); the pool must hold at least per_class[c] images of
  class c (checked by :func:`check_pool` on the host, since a jitted function cannot raise).
  """
  k_pick, k_shuffle = jax.random.split(key)
  picks = []
  for c, count in enumerate(per_class):
    if count:
      u = jax.random.uniform(jax.random.fold_in(k_pick, c), gen_labels.shape)
      picks.append(jnp.argsort(jnp.where(gen_labels == c, u, jnp.inf))[:count])
  if picks:
    idx = jnp.concatenate(picks)
    images = jnp.concatenate([real_images, gen_images[idx]])
    labels = jnp.concatenate([real_labels, gen_labels[idx]])
  else:
    images, labels = real_images, real_labels
  order = jax.random.permutation(k_shuffle, labels.shape[0])
  return images[order], labels[order]


def check_pool(gen_labels, per_class) -> None:
  """Raises ConfigError unless the generated pool has per_class[c] images of every class c."""
  have = np.bincount(np.asarray(gen_labels), minlength=len(per_class))
  short = [c for c, n in enumerate(per_class) if have[c] < n]
  if short:
    raise errors.ConfigError(f'generated pool too small for classes {short}: has {have.tolist()}, '
                     f'needs {list(per_class)}')
