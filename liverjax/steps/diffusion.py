"""The diffusion arm as pure functions: EDM's preconditioning, loss and deterministic Heun sampler
(Karras et al. 2022, "Elucidating the design space of diffusion-based generative models"), with
classifier-free guidance (Ho & Salimans 2022).

State is a pytree (:class:`DiffusionState`: the network's weights, their optimizer state, an EMA
of the weights and a step count); the network and the settings come in through ``setup`` (a
:class:`DiffusionSetup`), never from globals. One step,
``train_step(state, batch, key, *, setup) -> (state, metrics)``, draws sigma, noise, dropout and
the dropped labels from ``fold_in(key, state.step)``. Images are in [0, 1] outside and [-1, 1]
inside (sigma_data = 0.5).

The denoiser D(x; sigma, y) = c_skip x + c_out F(c_in x; c_noise, y), with
c_skip = sd^2 / (sigma^2 + sd^2), c_out = sigma sd / sqrt(sigma^2 + sd^2),
c_in = 1 / sqrt(sigma^2 + sd^2), c_noise = ln(sigma) / 4 (sd: sigma_data). Training draws
ln(sigma) ~ N(p_mean, p_std^2) per image and minimises
lambda(sigma) |D(y + sigma n; sigma) - y|^2 with lambda = (sigma^2 + sd^2) / (sigma sd)^2.
Labels are dropped (set to -1, the unconditional model) with probability label_dropout, so one
network is both D_c and D_u; sampling uses D_u + w (D_c - D_u): w = 0 is D_u alone, w = 1 is D_c
alone (one network pass each), other w run both passes as one batch.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from liverjax.steps import gan


@dataclasses.dataclass(frozen=True)
class DiffusionSetup:
  """What a diffusion step and its sampler need besides state and data."""
  network: nn.Module                # F(x_in, c_noise, labels, train) (models/unet.py)
  tx: optax.GradientTransformation
  num_classes: int
  sigma_data: float = 0.5
  p_mean: float = -1.2              # ln(sigma) ~ N(p_mean, p_std^2) in training (EDM)
  p_std: float = 1.2
  label_dropout: float = 0.1        # share of training labels replaced by -1 (unconditional)
  ema_decay: float = 0.999          # the sampled weights: an EMA of the trained ones
  sampler_steps: int = 18           # Heun steps: 2 * steps - 1 network passes per sample
  sigma_min: float = 0.002
  sigma_max: float = 80.0
  rho: float = 7.0
  guidance: float = 1.0             # w: 0 unconditional, 1 conditional, > 1 guided
  kind: str = 'diffusion'


@flax.struct.dataclass
class DiffusionState:
  step: jax.Array
  params: dict
  opt_state: optax.OptState
  ema: dict                         # the EMA of params, which the sampler uses


def preconditioning(sigma: jax.Array, sigma_data: float = 0.5):
  """Returns EDM's (c_skip, c_out, c_in, c_noise) at noise level sigma."""
  sd2 = sigma_data ** 2
  c_skip = sd2 / (sigma ** 2 + sd2)
  c_out = sigma * sigma_data / jnp.sqrt(sigma ** 2 + sd2)
  c_in = 1.0 / jnp.sqrt(sigma ** 2 + sd2)
  return c_skip, c_out, c_in, jnp.log(sigma) / 4.0


def loss_weight(sigma: jax.Array, sigma_data: float = 0.5) -> jax.Array:
  """Returns EDM's loss weight lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2 = 1 / c_out^2."""
  return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2


def denoise(setup: DiffusionSetup, params, x: jax.Array, sigma: jax.Array, labels: jax.Array,
            train: bool = False, key: jax.Array | None = None) -> jax.Array:
  """Returns D(x; sigma, labels) for x (N, 64, 64, 1) in [-1, 1] units, sigma (N,) or scalar and
  labels (N,) (-1: unconditional); train=True applies dropout drawn from key."""
  sigma = jnp.broadcast_to(jnp.asarray(sigma, jnp.float32), x.shape[:1])
  c_skip, c_out, c_in, c_noise = preconditioning(sigma[:, None, None, None], setup.sigma_data)
  rngs = {'dropout': key} if train else {}
  f = setup.network.apply({'params': params}, c_in * x, c_noise.reshape(-1), labels,
                          train=train, rngs=rngs)
  return c_skip * x + c_out * f


def guided_denoiser(setup: DiffusionSetup, params, labels: jax.Array,
                    w: float) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """Returns (x, sigma) -> D_u + w (D_c - D_u) for classes `labels`: D_u alone for w = 0, D_c
  alone for w = 1 (one network pass), both in one batch otherwise."""
  if w == 0.0:
    return lambda x, sigma: denoise(setup, params, x, sigma, jnp.full_like(labels, -1))
  if w == 1.0:
    return lambda x, sigma: denoise(setup, params, x, sigma, labels)

  def d(x, sigma):
    both = denoise(setup, params, jnp.concatenate([x, x]), sigma,
                   jnp.concatenate([jnp.full_like(labels, -1), labels]))
    d_u, d_c = jnp.split(both, 2)
    return d_u + w * (d_c - d_u)
  return d


def sigma_steps(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                rho: float = 7.0) -> jax.Array:
  """Returns EDM's n + 1 noise levels: (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) -
  sigma_max^(1/rho)))^rho for i < n, then 0."""
  i = jnp.arange(n, dtype=jnp.float32)
  inv = 1.0 / rho
  t = (sigma_max ** inv + i / max(n - 1, 1) * (sigma_min ** inv - sigma_max ** inv)) ** rho
  return jnp.concatenate([t, jnp.zeros((1,), jnp.float32)])


def heun_sample(denoiser: Callable, noise: jax.Array, sigmas: jax.Array) -> jax.Array:
  """Returns EDM's deterministic sample (its Algorithm 1) from x_0 = noise * sigmas[0]:
  the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma integrated by Heun's method
  over `sigmas`, with an Euler step into the final sigma = 0."""
  def step(x, t):
    t_cur, t_next = t
    d = (x - denoiser(x, t_cur)) / t_cur
    x_euler = x + (t_next - t_cur) * d

    def corrected(_):
      d_next = (x_euler - denoiser(x_euler, t_next)) / t_next
      return x + (t_next - t_cur) * 0.5 * (d + d_next)
    return jax.lax.cond(t_next > 0, corrected, lambda _: x_euler, None), None

  x, _ = jax.lax.scan(step, noise * sigmas[0], (sigmas[:-1], sigmas[1:]))
  return x


def init_state(setup: DiffusionSetup, key: jax.Array,
               image_shape: tuple[int, int, int] = (64, 64, 1)) -> DiffusionState:
  """Returns fresh weights for images of image_shape, their optimizer state and their EMA (a
  copy). The weights' shapes depend on the size only through attn_resolutions."""
  x = jnp.zeros((2,) + tuple(image_shape))
  params = setup.network.init(key, x, jnp.zeros((2,)), jnp.zeros((2,), jnp.int32))['params']
  return DiffusionState(step=jnp.zeros((), jnp.int32), params=params,
                        opt_state=setup.tx.init(params), ema=jax.tree.map(jnp.copy, params))


def loss_fn(setup: DiffusionSetup, params, images: jax.Array, labels: jax.Array,
            key: jax.Array) -> jax.Array:
  """Returns EDM's weighted denoising loss on images (N, 64, 64, 1) in [-1, 1] (mean over
  images and pixels), labels dropped to -1 with probability setup.label_dropout."""
  k_sigma, k_noise, k_drop, k_label = jax.random.split(key, 4)
  n = images.shape[0]
  sigma = jnp.exp(setup.p_mean + setup.p_std * jax.random.normal(k_sigma, (n,)))
  noisy = images + sigma[:, None, None, None] * jax.random.normal(k_noise, images.shape)
  dropped = jax.random.bernoulli(k_label, setup.label_dropout, (n,))
  labels = jnp.where(dropped, -1, labels)
  d = denoise(setup, params, noisy, sigma, labels, train=True, key=k_drop)
  per_image = jnp.mean((d - images) ** 2, axis=(1, 2, 3))
  return jnp.mean(loss_weight(sigma, setup.sigma_data) * per_image)


def train_step(state: DiffusionState, batch: dict, key: jax.Array, *,
               setup: DiffusionSetup) -> tuple[DiffusionState, dict]:
  """Returns (new state, metrics {'loss'}) after one optimizer step on batch {'image' (N, 64, 64,
  1) in [0, 1], 'label' (N,)}; the EMA moves with decay min(ema_decay, (1 + t) / (10 + t))."""
  k = jax.random.fold_in(key, state.step)
  loss, grads = jax.value_and_grad(lambda p: loss_fn(setup, p, batch['image'] * 2.0 - 1.0,
                                                     batch['label'], k))(state.params)
  updates, opt_state = setup.tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  ema = gan.ema_average(state.ema, params, state.step, setup.ema_decay)
  return DiffusionState(step=state.step + 1, params=params, opt_state=opt_state,
                        ema=ema), {'loss': loss}


def sample(setup: DiffusionSetup, params, key: jax.Array, n: int, label: int = 0,
           batch_size: int = 256) -> jax.Array:
  """Returns n images (n, 64, 64, 1) in [0, 1] of class `label` (-1: unconditional) from the
  weights `params` (the state's ema), in batches of min(n, batch_size); image i is a function of
  (key, i) and that batch size (which can change the order of float32 sums)."""
  batch_size = min(batch_size, n)
  steps = -(-n // batch_size)
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(steps * batch_size))
  noise = jax.vmap(lambda k: jax.random.normal(k, (64, 64, 1)))(keys)
  labels = jnp.full((batch_size,), label, jnp.int32)
  denoiser = guided_denoiser(setup, params, labels, setup.guidance)
  sigmas = sigma_steps(setup.sampler_steps, setup.sigma_min, setup.sigma_max, setup.rho)
  images = jax.lax.map(lambda z: heun_sample(denoiser, z, sigmas),
                       noise.reshape((steps, batch_size, 64, 64, 1)))
  images = images.reshape((steps * batch_size, 64, 64, 1))[:n]
  return jnp.clip((images + 1.0) / 2.0, 0.0, 1.0)


def sampling_generator(state: DiffusionState) -> dict:
  """Returns the weights to sample from: the EMA (as :func:`liverjax.steps.gan.sampling_generator`
  returns a GAN's generator)."""
  return state.ema


def refresh_ema(setup: DiffusionSetup, state: DiffusionState, key: jax.Array) -> DiffusionState:
  """Returns state unchanged: the network has no batch statistics to recompute (the GANs'
  :func:`liverjax.steps.gan.refresh_ema` has)."""
  del setup, key
  return state
