import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from liverjax.base import errors
from liverjax.experiment import builders
from liverjax.models import classifier, gans
from liverjax.steps import classifier as classifier_steps


def _count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def test_classifier_shapes_and_parameter_count():
  model = classifier.Classifier(num_classes=3)
  x = jnp.zeros((2, 64, 64, 1))
  variables = model.init(jax.random.key(0), x)
  # 3x3 convs 1->32->64->128, 8*8*128 -> 500 -> 3
  expected = (9 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 128 + 128) + (
      8192 * 500 + 500) + (500 * 3 + 3)
  assert _count(variables['params']) == expected == 4_190_675
  assert variables['input_stats']['mean'].shape == (64, 64, 1)
  logits, feats = model.apply(variables, x, return_features=True)
  assert logits.shape == (2, 3) and feats.shape == (2, 500)


@pytest.mark.parametrize('num_classes', [2, 5])
def test_classifier_any_number_of_classes(num_classes):
  model = classifier.Classifier(num_classes=num_classes, features=(4, 8, 8), dense=16)
  variables = model.init(jax.random.key(0), jnp.zeros((1, 64, 64, 1)))
  assert model.apply(variables, jnp.zeros((3, 64, 64, 1))).shape == (3, num_classes)


def test_mean_is_subtracted():
  model = classifier.Classifier(num_classes=2, features=(4, 8, 8), dense=16)
  x = jax.random.uniform(jax.random.key(1), (2, 64, 64, 1))
  v = model.init(jax.random.key(0), x)
  shifted = {**v, 'input_stats': {'mean': jnp.full((64, 64, 1), 0.25)}}
  a = model.apply(v, x - 0.25)
  b = model.apply(shifted, x)
  assert jnp.allclose(a, b, atol=1e-5)


def test_classifier_on_data_same_function_and_parameter_gradients():
  # input_grad=False (training): same variables, logits and parameter gradients; no image gradient
  x = jax.random.uniform(jax.random.key(1), (4, 64, 64, 1))
  y = jnp.array([0, 1, 2, 1])
  slow = classifier.Classifier(num_classes=3, features=(4, 8, 8), dense=16)
  fast = classifier.Classifier(num_classes=3, features=(4, 8, 8), dense=16, input_grad=False)
  v = slow.init(jax.random.key(0), x)
  assert jax.tree.map(jnp.shape, fast.init(jax.random.key(0), x)) == jax.tree.map(jnp.shape, v)

  def loss(model):
    return lambda p, x: classifier_steps.cross_entropy(model.apply({**v, 'params': p}, x), y)
  np.testing.assert_allclose(fast.apply(v, x), slow.apply(v, x), rtol=1e-5, atol=1e-5)
  gp_slow, gx_slow = jax.grad(loss(slow), argnums=(0, 1))(v['params'], x)
  gp_fast, gx_fast = jax.grad(loss(fast), argnums=(0, 1))(v['params'], x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               gp_fast, gp_slow)
  assert np.any(gx_slow) and not np.any(gx_fast)


def test_conv_impl_reaches_every_convolution():
  # conv_impl='xla': every convolution of every model is XLA's own (lax.conv_general_dilated; a
  # transposed one is one too); 'patches': none is. tests/test_layers.py and test_gan.py show
  # that both forms of each layer compute nn.Conv's / nn.ConvTranspose's function and gradients.
  x = jnp.zeros((2, 64, 64, 1))
  z = jnp.zeros((2, 100))
  cases = [
      (lambda impl: classifier.Classifier(3, (4, 8, 8), dense=16, input_grad=False,
                                      conv_impl=impl), (x,), {'train': False}, 3),
      (lambda impl: gans.DCGANGenerator((32, 16, 8, 8), num_classes=3, conv_impl=impl),
       (z, jnp.zeros((2,), jnp.int32)), {}, 4),
      (lambda impl: gans.DCGANDiscriminator((8, 8, 16, 16), conv_impl=impl), (x,), {}, 4),
      (lambda impl: gans.ACGANDiscriminator(3, (8, 8, 8, 8, 16, 16), conv_impl=impl), (x,),
       {'train': False}, 6),
  ]
  for make, args, kw, n_conv in cases:
    for impl, expected in (('xla', n_conv), ('patches', 0)):
      model = make(impl)
      v = jax.eval_shape(functools.partial(model.init, **kw), jax.random.key(0), *args)
      v = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), v)
      jaxpr = jax.make_jaxpr(lambda a: model.apply(v, *a, **kw, mutable=['batch_stats']))(args)
      assert str(jaxpr).count('conv_general_dilated') == expected, (impl, type(model).__name__)


def test_conv_impl_config_values():
  # the tests run on the CPU, where XLA's own convolutions are far slower inside lax.scan
  assert jax.default_backend() == 'cpu' and builders.conv_impl('auto') == 'patches'
  assert builders.conv_impl('auto', 'bfloat16') == 'patches'
  assert builders.conv_impl('xla') == 'xla' and builders.conv_impl('patches') == 'patches'
  with pytest.raises(errors.ConfigError, match="float32 only"):
    builders.conv_impl('xla', 'bfloat16', 'model.conv_impl')
  with pytest.raises(errors.ConfigError, match="config.model.conv_impl='cudnn'"):
    builders.conv_impl('cudnn', key='model.conv_impl')
