"""Options for GANs trained on few images: differentiable augmentation of what the discriminator
sees, DiffAugment (Zhao et al. 2020) and adaptive discriminator augmentation (ADA; Karras et al.
2020), and the R1 gradient penalty (Mescheder et al. 2018).

Every image the discriminator sees, real or generated, in the discriminator's and in the
generator's update, first goes through the same random transform, drawn independently per image;
the generator's gradient flows through it. The discriminator then cannot memorise the few real
images, and the generator, judged only through the transform, still learns the un-transformed
images as long as the transform is applied to both sides alike.

Transforms (``POLICIES``; images in [-1, 1]), each applied to each image with probability p:
- ``translation``: a shift of up to 1/8 of the side (8 px at 64x64) per axis, the border pixels
  repeated (a CT ROI continues into parenchyma, not into a black frame);
- ``cutout``: a square of half the side, at a random place (clipped at the border), set to 0
  (mid-grey in [0, 1]);
- ``intensity``: a window change: contrast x U(0.8, 1.25) about the image's mean, then brightness
  + U(-0.1, 0.1) (5% of the [0, 1] window): far milder than DiffAugment's colour policy, since a
  lesion's class lies partly in its density.
Rotations and flips are left out: the classic variants the GANs train on already hold them.

DiffAugment: p = 1. ADA: p starts at 0 and follows :func:`ada_update`, which raises it while the
discriminator is confident on real images (the overfitting signal r = E[sign D(x_real)] above its
target) and lowers it otherwise.

R1 (:func:`r1_penalty`) penalises the discriminator's gradient at real images, so that it cannot
carve a sharp ridge around the few it has seen.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

POLICIES = ('translation', 'cutout', 'intensity')
TRANSLATION = 1 / 8
CUTOUT = 1 / 2
CONTRAST = (0.8, 1.25)
BRIGHTNESS = 0.1


def parse_policy(policy: str) -> tuple[str, ...]:
  """Returns the transforms of a comma-separated policy ('' = none); raises ValueError on an
  unknown one."""
  names = tuple(p.strip() for p in policy.split(',') if p.strip())
  unknown = [n for n in names if n not in POLICIES]
  if unknown:
    raise ValueError(f'unknown augmentation {unknown}: expected some of {POLICIES}')
  return names


def _translate(x: jax.Array, key: jax.Array) -> jax.Array:
  n, h, w, _ = x.shape
  limit = jnp.array([int(h * TRANSLATION), int(w * TRANSLATION)])
  shift = jax.random.randint(key, (n, 2), -limit, limit + 1)

  def one(img, s):
    rows = jnp.clip(jnp.arange(h) - s[0], 0, h - 1)
    cols = jnp.clip(jnp.arange(w) - s[1], 0, w - 1)
    return img[rows][:, cols]

  return jax.vmap(one)(x, shift)


def _cutout(x: jax.Array, key: jax.Array) -> jax.Array:
  n, h, w, _ = x.shape
  size = jnp.array([int(h * CUTOUT), int(w * CUTOUT)])
  centre = jax.random.randint(key, (n, 2), 0, jnp.array([h, w]))
  lo, hi = centre - size // 2, centre - size // 2 + size
  ys, xs = jnp.arange(h), jnp.arange(w)
  inside = (((ys[None, :] >= lo[:, :1]) & (ys[None, :] < hi[:, :1]))[:, :, None] &
            ((xs[None, :] >= lo[:, 1:]) & (xs[None, :] < hi[:, 1:]))[:, None, :])
  return jnp.where(inside[..., None], 0.0, x)


def _intensity(x: jax.Array, key: jax.Array) -> jax.Array:
  k_c, k_b = jax.random.split(key)
  shape = (x.shape[0], 1, 1, 1)
  contrast = jnp.exp(jax.random.uniform(k_c, shape, minval=jnp.log(CONTRAST[0]),
                                        maxval=jnp.log(CONTRAST[1])))
  brightness = jax.random.uniform(k_b, shape, minval=-BRIGHTNESS, maxval=BRIGHTNESS)
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  return (x - mean) * contrast + mean + brightness


_TRANSFORMS = {'translation': _translate, 'cutout': _cutout, 'intensity': _intensity}


def augment(x: jax.Array, key: jax.Array, policy: tuple[str, ...], p) -> jax.Array:
  """Returns x (N, H, W, C) in [-1, 1] with each transform of `policy` applied, in order, to
  each image independently with probability p (a scalar, may be traced); x itself when the
  policy is empty. Differentiable in x."""
  for i, name in enumerate(policy):
    k_apply, k_t = jax.random.split(jax.random.fold_in(key, i))
    apply = jax.random.uniform(k_apply, (x.shape[0], 1, 1, 1)) < p
    x = jnp.where(apply, _TRANSFORMS[name](x, k_t), x)
  return x


def discriminator_input(images: jax.Array, key: jax.Array, policy: tuple[str, ...],
                        aug_p: jax.Array | None) -> jax.Array:
  """Returns images as the discriminator sees them: augmented by `policy` with probability 1
  (DiffAugment, aug_p None) or aug_p (ADA); unchanged without a policy."""
  return augment(images, key, policy, 1.0 if aug_p is None else aug_p) if policy else images


def ada_update(p: jax.Array, real_logits: jax.Array, target: float,
               images_to_saturate: float) -> jax.Array:
  """Returns ADA's next probability: p + sign(r - target) * N / images_to_saturate, clipped to
  [0, 1], with r = mean(sign(real_logits)) over the N real images of the step (Karras et al.
  2020: target 0.6, p able to go from 0 to 1 in 500,000 images)."""
  r = jnp.mean(jnp.sign(real_logits))
  step = real_logits.shape[0] / images_to_saturate
  return jnp.clip(p + jnp.sign(r - target) * step, 0.0, 1.0)


def r1_penalty(apply_fn: Callable[[jax.Array], tuple], images: jax.Array, gamma: float,
               source_logits: Callable = lambda out: out) -> tuple[tuple, jax.Array]:
  """Returns (apply_fn(images), R1 penalty) from one forward pass through the discriminator.

  apply_fn: images (N, H, W, C) -> (out, aux), aux not differentiated (e.g. batch-statistics
  updates); source_logits: out -> (N,) real/fake logits. The penalty is gamma / 2 * mean over
  images of |d s / d x|^2, each image's logit s differentiated at that image, by one backward
  pass from the forward pass whose output the loss also uses. The gradient of the summed logits
  is each image's own only if no image's logit depends on another's (no batch norm).
  """
  out, pull, aux = jax.vjp(apply_fn, images, has_aux=True)
  s, pull_s = jax.vjp(source_logits, out)
  grads, = pull(*pull_s(jnp.ones_like(s)))
  penalty = 0.5 * gamma * jnp.mean(jnp.sum(grads ** 2, axis=tuple(range(1, grads.ndim))))
  return (out, aux), penalty
