"""GAN training as pure functions: DCGAN (one per class) and ACGAN (one for all classes).

State is a pytree (:class:`GANState`: the generator's and the discriminator's TrainStates and a
step count). One step, ``train_step(state, batch, key, *, setup) -> (state, metrics)``, updates
the discriminator on a real batch and a fresh fake batch, then the generator on another fresh
fake batch (the non-saturating loss); generator and discriminator come in through ``setup`` (a
:class:`GANSetup`: modules, optimizers, z size, kind), never from globals. Randomness comes from
``fold_in(key, state.step)``. Batch-norm statistics are computed over the global batch: under
``jax.jit`` with the batch sharded over the 'data' mesh axis, XLA averages them across devices.

Losses, with s = real/fake logit and c = class logits (ACGAN only):
- D: BCE(s(x), 1) + BCE(s(G(z)), 0) [+ CE(c(x), y) + CE(c(G(z, y')), y')]  (maximises L_s + L_c)
- G: BCE(s(G(z)), 1) [+ CE(c(G(z, y')), y')]                              (maximises L_c - L_s,
  in the usual non-saturating form).
Images are in [0, 1] outside and [-1, 1] inside the GAN.

With ``setup.ema_decay`` > 0 the state also carries ``g_ema``: an exponential moving average of
the generator's weights after each step (decay min(ema_decay, (1 + t) / (10 + t)) at step t, so a
short run of t steps averages over roughly its last t/9), which samples with its own batch-norm
statistics (:func:`standing_stats`, refreshed by :func:`refresh_ema` before every checkpoint).
:func:`sampling_generator` returns it, or the trained generator itself when ema_decay is 0 (the
paper).
Options for few images, off in the paper (:mod:`liverjax.steps.data_efficient`): setup.augment
(DiffAugment; ADA with setup.ada_target > 0, its probability in state.aug_p), setup.r1_gamma (R1
on D's real images as D sees them, from the forward pass D's loss uses).
"""

from __future__ import annotations

import dataclasses

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from liverjax.steps import data_efficient
from liverjax.steps.classifier import TrainState, cross_entropy


@dataclasses.dataclass(frozen=True)
class GANSetup:
  """What a GAN step needs besides state and data: the modules, optimizers and sizes."""
  kind: str                         # 'dcgan' or 'acgan'
  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  z_dim: int = 100
  num_classes: int = 1              # ACGAN: classes of the generator's condition
  ema_decay: float = 0.0            # > 0: keep an EMA of the generator's weights (g_ema)
  augment: tuple[str, ...] = ()     # transforms of what D sees (data_efficient.POLICIES)
  ada_target: float = 0.0           # > 0: ADA steers their probability (state.aug_p)
  ada_images: float = 500_000.0     # real images for ADA's p to move from 0 to 1
  r1_gamma: float = 0.0             # > 0: R1 penalty weight on D's real-image gradient


@flax.struct.dataclass
class GANState:
  step: jax.Array
  g: TrainState
  d: TrainState
  g_ema: TrainState | None = None   # EMA weights + standing statistics; no opt_state
  aug_p: jax.Array | None = None    # ADA's augmentation probability (None without ADA)


def make_optimizer(learning_rate: float, beta1: float = 0.5) -> optax.GradientTransformation:
  """Returns Adam with the DCGAN betas (beta1 0.5, beta2 0.999)."""
  return optax.adam(learning_rate, b1=beta1, b2=0.999)


def init_state(setup: GANSetup, key: jax.Array) -> GANState:
  """Returns fresh generator and discriminator states."""
  k_g, k_d = jax.random.split(key)
  z = jnp.zeros((2, setup.z_dim))
  labels = jnp.zeros((2,), jnp.int32)
  g_vars = setup.generator.init(k_g, z, labels, train=False)
  d_vars = setup.discriminator.init({'params': k_d, 'dropout': k_d},
                                    jnp.zeros((2, 64, 64, 1)), train=False)

  def make(variables, tx):
    variables = dict(variables)
    params = variables.pop('params')
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=variables,
                      opt_state=tx.init(params))

  g = make(g_vars, setup.g_tx)
  g_ema = None
  if setup.ema_decay:
    g_ema = jax.tree.map(jnp.copy, g.replace(opt_state=()))   # own buffers (donation)
  aug_p = jnp.zeros((), jnp.float32) if setup.ada_target else None
  return GANState(step=jnp.zeros((), jnp.int32), g=g, d=make(d_vars, setup.d_tx), g_ema=g_ema,
                  aug_p=aug_p)


def sample_z(key: jax.Array, n: int, z_dim: int) -> jax.Array:
  """Returns the paper's latent vectors: z ~ U[-1, 1]^z_dim."""
  return jax.random.uniform(key, (n, z_dim), minval=-1.0, maxval=1.0)


def _bce(logits: jax.Array, target: float) -> jax.Array:
  return optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, target)).mean()


def _split_heads(setup: GANSetup, out):
  """Returns (source logits, class logits or None) from a discriminator's output."""
  return out if setup.kind == 'acgan' else (out, None)


def generate(setup: GANSetup, g: TrainState, z: jax.Array, labels: jax.Array, train_mode: bool):
  """Returns (images in [-1, 1], new generator model_state)."""
  if train_mode:
    images, new = setup.generator.apply({'params': g.params, **g.model_state}, z, labels,
                                        train=True, mutable=['batch_stats'])
    return images, {**g.model_state, **new}
  return setup.generator.apply({'params': g.params, **g.model_state}, z, labels,
                               train=False), g.model_state


def real_pass(setup: GANSetup, params, model_state: dict, images: jax.Array,
              key: jax.Array) -> tuple[tuple, jax.Array]:
  """Returns ((D's output at real images, its batch-statistics update), R1 penalty), the penalty
  (weight setup.r1_gamma; 0 without R1) from the same forward pass by one backward pass
  (:func:`liverjax.steps.data_efficient.r1_penalty`; builders refuses R1 with batch norm)."""
  d = _d_apply(setup, params, model_state, key)
  if not setup.r1_gamma:
    return d(images), jnp.zeros(())
  return data_efficient.r1_penalty(d, images, setup.r1_gamma,
                                   lambda out: _split_heads(setup, out)[0])


def _d_apply(setup: GANSetup, params, model_state: dict, key: jax.Array):
  """Returns images -> (D's output in training mode, its batch-statistics update)."""
  return lambda x: setup.discriminator.apply({'params': params, **model_state}, x, train=True,
                                             mutable=['batch_stats'], rngs={'dropout': key})


def train_step(state: GANState, batch: dict, key: jax.Array, *,
               setup: GANSetup) -> tuple[GANState, dict]:
  """Returns (new state, metrics) after one discriminator and one generator update.

  batch: {'image': (N, 64, 64, 1) in [0, 1], 'label': (N,)}; metrics: d_loss, g_loss, d_real
  (mean D(x)), d_fake (mean D(G(z)) before the D update), for ACGAN d_class_acc, with R1 r1 (the
  penalty, included in d_loss), with ADA aug_p (the probability after this step).
  """
  acgan = setup.kind == 'acgan'
  k = jax.random.fold_in(key, state.step)
  k_z1, k_z2, k_y1, k_y2, k_drop1, k_drop2 = jax.random.split(k, 6)   # the paper's draws
  k_aug_real, k_aug_fake, k_aug_g = jax.random.split(jax.random.fold_in(k, 6), 3)   # apart
  real = data_efficient.discriminator_input(batch['image'] * 2.0 - 1.0, k_aug_real,
                                            setup.augment, state.aug_p)
  n = real.shape[0]
  y_real = batch['label']
  y_fake1 = jax.random.randint(k_y1, (n,), 0, setup.num_classes)
  y_fake2 = jax.random.randint(k_y2, (n,), 0, setup.num_classes)

  # Discriminator update.
  fake, g_state = generate(setup, state.g, sample_z(k_z1, n, setup.z_dim), y_fake1, True)
  fake = data_efficient.discriminator_input(jax.lax.stop_gradient(fake), k_aug_fake,
                                            setup.augment, state.aug_p)

  def d_loss_fn(params):
    (out_real, upd), r1 = real_pass(setup, params, state.d.model_state, real, k_drop1)
    stats = {**state.d.model_state, **upd}
    out_fake, upd = _d_apply(setup, params, stats, jax.random.fold_in(k_drop1, 1))(fake)
    stats = {**stats, **upd}
    s_real, c_real = _split_heads(setup, out_real)
    s_fake, c_fake = _split_heads(setup, out_fake)
    loss = _bce(s_real, 1.0) + _bce(s_fake, 0.0)
    aux = {'d_real': jax.nn.sigmoid(s_real).mean(), 'd_fake': jax.nn.sigmoid(s_fake).mean(),
           's_real': s_real}
    if acgan:
      loss += cross_entropy(c_real, y_real) + cross_entropy(c_fake, y_fake1)
      aux['d_class_acc'] = jnp.mean(jnp.argmax(c_real, -1) == y_real)
    if setup.r1_gamma:
      aux['r1'] = r1
    return loss + r1, (stats, aux)

  (d_loss, (d_stats, aux)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(state.d.params)
  d_updates, d_opt = setup.d_tx.update(d_grads, state.d.opt_state, state.d.params)
  d = state.d.replace(step=state.d.step + 1, params=optax.apply_updates(state.d.params, d_updates),
                      model_state=d_stats, opt_state=d_opt)
  s_real = aux.pop('s_real')
  aug_p = state.aug_p
  if aug_p is not None:
    aug_p = data_efficient.ada_update(aug_p, s_real, setup.ada_target, setup.ada_images)
    aux['aug_p'] = aug_p

  # Generator update against the updated discriminator (its batch statistics are not kept).
  def g_loss_fn(params):
    g = state.g.replace(params=params, model_state=g_state)
    fake, new_g_state = generate(setup, g, sample_z(k_z2, n, setup.z_dim), y_fake2, True)
    fake = data_efficient.discriminator_input(fake, k_aug_g, setup.augment, state.aug_p)
    out, _ = _d_apply(setup, d.params, d.model_state, k_drop2)(fake)
    s_fake, c_fake = _split_heads(setup, out)
    loss = _bce(s_fake, 1.0)
    if acgan:
      loss += cross_entropy(c_fake, y_fake2)
    return loss, new_g_state

  (g_loss, new_g_state), g_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(state.g.params)
  g_updates, g_opt = setup.g_tx.update(g_grads, state.g.opt_state, state.g.params)
  g = state.g.replace(step=state.g.step + 1, params=optax.apply_updates(state.g.params, g_updates),
                      model_state=new_g_state, opt_state=g_opt)
  metrics = {'d_loss': d_loss, 'g_loss': g_loss, **aux}
  return GANState(step=state.step + 1, g=g, d=d, g_ema=_updated_ema(setup, state, g),
                  aug_p=aug_p), metrics


def _updated_ema(setup: GANSetup, state: GANState, g: TrainState):
  """Returns state.g_ema moved towards the updated generator g (None without an EMA)."""
  e = state.g_ema
  return None if e is None else e.replace(
      step=e.step + 1, params=ema_average(e.params, g.params, state.step, setup.ema_decay))


def ema_average(ema, params, step: jax.Array, ema_decay: float):
  """Returns ema moved towards params, decay min(ema_decay, (1 + t) / (10 + t)) at t = step."""
  t = step.astype(jnp.float32)
  decay = jnp.minimum(ema_decay, (1.0 + t) / (10.0 + t))
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def standing_stats(setup: GANSetup, g: TrainState, key: jax.Array, n: int = 512) -> TrainState:
  """Returns g with its batch-norm statistics replaced by the exact batch statistics of n fresh
  samples (z ~ U[-1, 1], labels uniform over the classes, as in training). The running averages
  belong to the weights that produced them, not to an average of weights (sampled with the
  trained generator's running statistics, the EMA generator's images are washed out and less
  diverse)."""
  k_z, k_y = jax.random.split(key)
  z = sample_z(k_z, n, setup.z_dim)
  labels = jax.random.randint(k_y, (n,), 0, setup.num_classes)
  _, new = setup.generator.clone(bn_momentum=0.0).apply(
      {'params': g.params, **g.model_state}, z, labels, train=True, mutable=['batch_stats'])
  return g.replace(model_state={**g.model_state, **new})


def refresh_ema(setup: GANSetup, state: GANState, key: jax.Array) -> GANState:
  """Returns state with g_ema's standing statistics recomputed (unchanged without g_ema)."""
  if state.g_ema is None:
    return state
  return state.replace(g_ema=standing_stats(setup, state.g_ema, key))


def sampling_generator(state: GANState) -> TrainState:
  """Returns the generator to sample from: g_ema (after :func:`refresh_ema`) if the state keeps
  one, else the trained generator."""
  return state.g if state.g_ema is None else state.g_ema


def sample(setup: GANSetup, g: TrainState, key: jax.Array, n: int, label: int = 0,
           batch_size: int = 256) -> jax.Array:
  """Returns n generated images (n, 64, 64, 1) in [0, 1] of class `label` (generator in eval mode,
  batch norm with its running statistics), in fixed-size batches."""
  steps = -(-n // batch_size)
  z = sample_z(key, steps * batch_size, setup.z_dim).reshape(steps, batch_size, setup.z_dim)
  labels = jnp.full((batch_size,), label, jnp.int32)
  images = jax.lax.map(lambda zb: generate(setup, g, zb, labels, False)[0], z)
  return (images.reshape((steps * batch_size,) + images.shape[2:])[:n] + 1.0) / 2.0
