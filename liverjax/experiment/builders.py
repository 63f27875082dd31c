"""Config values -> the modules and optimizers they describe (the only place that reads
``config.model`` and ``config.<gan>`` to build models).

Everything a config can get wrong here is refused with a :class:`ConfigError` naming the key,
before a job writes anything.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from liverjax.base import errors
import optax

from liverjax.models import classifier, gans, layers, unet
from liverjax.steps import classifier as classifier_steps
from liverjax.steps import diffusion, gan, data_efficient

MATMUL_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}
CONV_IMPLS = ('auto',) + layers.IMPLS

# 'auto' per jax.default_backend(); backends not listed (TPU: not measured) get 'patches'.
# cpu: XLA-CPU's own convolutions are far slower inside lax.scan; gpu: a tie for the classifier,
# patches faster for the DCGAN (benchmarks/README.md, On a GPU).
BACKEND_CONV_IMPL = {'cpu': 'patches', 'gpu': 'patches'}


def matmul_dtype(name: str, key: str = 'matmul_dtype'):
  """Returns the layers' ``matmul_dtype`` for a config value: None (plain float32) for
  'float32', ``jnp.bfloat16`` for 'bfloat16' (:func:`liverjax.models.conv_ops.matmul`)."""
  if name not in MATMUL_DTYPES:
    raise errors.ConfigError(f'config.{key}={name!r}: expected one of {sorted(MATMUL_DTYPES)}')
  return MATMUL_DTYPES[name]


def conv_impl(name: str, matmul_dtype_name: str = 'float32', key: str = 'conv_impl') -> str:
  """Returns the layers' ``impl`` for a config value: 'patches' or 'xla' as given; 'auto' picks
  by backend (BACKEND_CONV_IMPL) and takes 'patches' wherever the matmuls are bfloat16 (the only
  form that has them)."""
  if name not in CONV_IMPLS:
    raise errors.ConfigError(f'config.{key}={name!r}: expected one of {list(CONV_IMPLS)}')
  low = matmul_dtype_name != 'float32'
  if name == 'auto':
    return 'patches' if low else BACKEND_CONV_IMPL.get(jax.default_backend(), 'patches')
  if name == 'xla' and low:
    raise errors.ConfigError(f"config.{key}='xla' runs float32 only: with matmul_dtype="
                             f"{matmul_dtype_name!r} use 'patches' (or 'auto')")
  return name


def make_classifier(mcfg, num_classes: int) -> classifier.Classifier:
  """Returns the classifier that config.model describes, for training (images are data)."""
  dtype_name = mcfg.get('matmul_dtype', 'float32')
  return classifier.Classifier(
      num_classes=num_classes, features=tuple(mcfg.features), kernel_size=mcfg.kernel_size,
      dense=mcfg.dense, dropout=mcfg.dropout,
      input_grad=False,   # images are data: faster first layer
      matmul_dtype=matmul_dtype(dtype_name, 'model.matmul_dtype'),
      conv_impl=conv_impl(mcfg.get('conv_impl', 'auto'), dtype_name, 'model.conv_impl'))


def make_classifier_optimizer(tcfg):
  """Returns the paper's optimizer with config.train's settings."""
  return classifier_steps.make_optimizer(tcfg.learning_rate, tcfg.momentum, tcfg.nesterov)


def _choice(gcfg, key: str, default: str, allowed, where: str) -> str:
  value = gcfg.get(key, default)
  if value not in allowed:
    raise errors.ConfigError(f'config.gan.{key}={value!r} {where}: expected one of '
                             f'{list(allowed)}')
  return value


def _data_efficient(gcfg, d_norm: str, where: str) -> dict:
  """Returns the GANSetup fields of config.gan's data-efficient options (all off: the paper)."""
  try:
    policy = data_efficient.parse_policy(gcfg.get('augment', ''))
  except ValueError as e:
    raise errors.ConfigError(f'config.gan.augment {where}: {e}') from None
  ada_target = float(gcfg.get('ada_target', 0.0))
  ada_images = float(gcfg.get('ada_images', 500_000))
  r1_gamma = float(gcfg.get('r1_gamma', 0.0))
  if not 0.0 <= ada_target < 1.0 or ada_images <= 0:
    raise errors.ConfigError(f'config.gan.ada_target={ada_target} / ada_images={ada_images} '
                             f'{where}: the target lies in [0, 1) (0 = off), ada_images > 0')
  if ada_target and not policy:
    raise errors.ConfigError(f'config.gan.ada_target={ada_target} {where}: ADA steers the '
                             f'augmentation of config.gan.augment, which is empty')
  if r1_gamma < 0:
    raise errors.ConfigError(f'config.gan.r1_gamma={r1_gamma} {where}: expected >= 0')
  if r1_gamma and d_norm == 'batch':
    raise errors.ConfigError(f'config.gan.r1_gamma={r1_gamma} {where}: R1 penalises each '
                             f'image\'s gradient, which batch norm mixes with the others\'; set '
                             f"config.gan.d_norm='layer' or 'none'")
  return dict(augment=policy, ada_target=ada_target, ada_images=ada_images, r1_gamma=r1_gamma)


def make_diffusion_setup(gcfg, num_classes: int) -> diffusion.DiffusionSetup:
  """Returns the DiffusionSetup (U-Net, optimizer, EDM's settings) that a config.gan of kind
  'diffusion' describes."""
  where = '(config.gan.* or config.diffusion.*)'
  impl = conv_impl(gcfg.get('conv_impl', 'auto'), 'float32', f'gan.conv_impl {where}')
  if not 0.0 <= gcfg.label_dropout < 1.0:
    raise errors.ConfigError(f'config.gan.label_dropout={gcfg.label_dropout} {where}: expected '
                             'a probability in [0, 1) (guidance needs the unconditional model)')
  if gcfg.guidance != 1.0 and not gcfg.label_dropout:
    raise errors.ConfigError(f'config.gan.guidance={gcfg.guidance} {where}: w != 1 uses the '
                             'unconditional model, which label_dropout=0 never trains')
  if gcfg.sampler_steps < 1:
    raise errors.ConfigError(f'config.gan.sampler_steps={gcfg.sampler_steps} {where}: >= 1')
  levels, patch = len(gcfg.channel_mult), gcfg.get('patch', 1)
  if patch < 1 or 64 % (patch * 2 ** (levels - 1)):
    raise errors.ConfigError(f'config.gan.channel_mult={tuple(gcfg.channel_mult)}, patch={patch} '
                             f'{where}: {levels} levels on {patch}x{patch} patches do not halve '
                             '64x64 evenly')
  network = unet.UNet(num_classes=num_classes, channels=gcfg.channels,
                      channel_mult=tuple(gcfg.channel_mult), num_blocks=gcfg.num_blocks,
                      attn_resolutions=tuple(gcfg.attn_resolutions), dropout=gcfg.dropout,
                      conv_impl=impl, patch=patch)
  return diffusion.DiffusionSetup(
      network=network, tx=optax.adam(gcfg.learning_rate), num_classes=num_classes,
      sigma_data=gcfg.sigma_data, p_mean=gcfg.p_mean, p_std=gcfg.p_std,
      label_dropout=gcfg.label_dropout, ema_decay=gcfg.ema_decay,
      sampler_steps=gcfg.sampler_steps, guidance=float(gcfg.guidance))


def make_gan_setup(gcfg, num_classes: int):
  """Returns the GANSetup (modules, optimizers) that config.gan (or config.dcgan/acgan)
  describes; for kind 'diffusion' the DiffusionSetup (:func:`make_diffusion_setup`)."""
  if gcfg.kind == 'diffusion':
    return make_diffusion_setup(gcfg, num_classes)
  where = f'(config.{gcfg.kind}.* in *_aug.py)'
  dtype_name = gcfg.get('matmul_dtype', 'float32')
  low = matmul_dtype(dtype_name, f'gan.matmul_dtype {where}')
  impl = conv_impl(gcfg.get('conv_impl', 'auto'), dtype_name, f'gan.conv_impl {where}')
  upsample = _choice(gcfg, 'g_upsample', 'transposed', gans.UPSAMPLINGS, where)
  if gcfg.kind == 'dcgan':
    d_norm = _choice(gcfg, 'd_norm', 'batch', gans.NORMS, where)
    generator = gans.DCGANGenerator(widths=tuple(gcfg.g_widths), kernel_size=gcfg.g_kernel_size,
                                    matmul_dtype=low, conv_impl=impl, upsample=upsample)
    discriminator = gans.DCGANDiscriminator(widths=tuple(gcfg.d_widths),
                                            kernel_size=gcfg.d_kernel_size, matmul_dtype=low,
                                            conv_impl=impl, norm=d_norm)
  elif gcfg.kind == 'acgan':
    d_norm = 'none'
    generator = gans.DCGANGenerator(widths=tuple(gcfg.g_widths), kernel_size=gcfg.g_kernel_size,
                                    num_classes=num_classes, matmul_dtype=low, conv_impl=impl,
                                    upsample=upsample)
    discriminator = gans.ACGANDiscriminator(num_classes=num_classes, widths=tuple(gcfg.d_widths),
                                            kernel_size=gcfg.d_kernel_size,
                                            dropout=gcfg.dropout, matmul_dtype=low,
                                            conv_impl=impl)
  else:
    raise errors.ConfigError(f'config.gan.kind={gcfg.kind!r}: expected dcgan, acgan or diffusion')
  return gan.GANSetup(kind=gcfg.kind, generator=generator, discriminator=discriminator,
                      g_tx=gan.make_optimizer(gcfg.learning_rate, gcfg.beta1),
                      d_tx=gan.make_optimizer(gcfg.learning_rate, gcfg.beta1),
                      z_dim=gcfg.z_dim, num_classes=max(1, num_classes if gcfg.kind == 'acgan'
                                                        else 1),
                      ema_decay=float(gcfg.get('ema_decay', 0.0)),
                      **_data_efficient(gcfg, d_norm, where))
