import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from liverjax import layers


@pytest.mark.parametrize('size,cin,features,kernel,stride', [
    (64, 1, 8, 3, 1), (16, 5, 7, 5, 1), (32, 3, 4, 5, 2), (9, 2, 3, 3, 2), (8, 4, 6, 4, 1)])
def test_conv_equals_flax_conv(size, cin, features, kernel, stride):
  key_x, key_p = jax.random.split(jax.random.key(size + kernel + stride))
  x = jax.random.normal(key_x, (2, size, size, cin))
  ours = layers.Conv(features, kernel, strides=stride)
  stock = nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding='SAME')
  variables = ours.init(key_p, x)
  ref_vars = stock.init(key_p, x)
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, ref_vars)
  # random bias too, so the test covers it
  variables = jax.tree.map(lambda a: jax.random.normal(jax.random.key(7), a.shape), variables)
  np.testing.assert_allclose(ours.apply(variables, x), stock.apply(variables, x),
                             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('cin,kernel,stride', [(3, 3, 1), (1, 3, 1), (1, 5, 2), (2, 4, 2)])
def test_conv_gradients_equal_flax_conv(cin, kernel, stride):
  x = jax.random.normal(jax.random.key(0), (2, 12, 12, cin))
  ours = layers.Conv(4, kernel, strides=stride)
  stock = nn.Conv(4, (kernel, kernel), strides=(stride, stride), padding='SAME')
  v = ours.init(jax.random.key(1), x)
  g1 = jax.grad(lambda v, x: jnp.sum(ours.apply(v, x) ** 2), argnums=(0, 1))(v, x)
  g2 = jax.grad(lambda v, x: jnp.sum(stock.apply(v, x) ** 2), argnums=(0, 1))(v, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g1, g2)


@pytest.mark.parametrize('kernel,stride', [(3, 1), (5, 2), (4, 2)])
def test_conv_on_data_equals_flax_conv(kernel, stride):
  # input_grad=False on one channel: the sum-of-slices form with its written-out weight gradient;
  # same output and weight gradient as nn.Conv, and no gradient to the input (it is data)
  x = jax.random.normal(jax.random.key(0), (2, 12, 12, 1))
  ours = layers.Conv(4, kernel, strides=stride, input_grad=False)
  stock = nn.Conv(4, (kernel, kernel), strides=(stride, stride), padding='SAME')
  v = ours.init(jax.random.key(1), x)
  np.testing.assert_allclose(ours.apply(v, x), stock.apply(v, x), rtol=1e-5, atol=1e-5)
  g1, gx = jax.grad(lambda v, x: jnp.sum(jnp.sin(ours.apply(v, x))), argnums=(0, 1))(v, x)
  g2 = jax.grad(lambda v: jnp.sum(jnp.sin(stock.apply(v, x))))(v)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g1, g2)
  assert not np.any(gx)


@pytest.mark.parametrize('shape', [(2, 8, 8, 3), (3, 9, 7, 2)])
def test_max_pool_equals_flax_max_pool(shape):
  x = jax.random.normal(jax.random.key(shape[1]), shape)
  stock = lambda x: nn.max_pool(x, (2, 2), strides=(2, 2))
  np.testing.assert_array_equal(layers.max_pool_2x2(x), stock(x))
  # Gradients through a ReLU, as in the classifier; random floats have no tied maxima.
  loss = lambda pool: lambda x: jnp.sum(jnp.sin(pool(nn.relu(x))))
  np.testing.assert_allclose(jax.grad(loss(layers.max_pool_2x2))(x), jax.grad(loss(stock))(x),
                             rtol=1e-6, atol=1e-6)


def test_same_padding():
  assert layers.same_padding(64, 5, 2) == (1, 2)
  assert layers.same_padding(64, 3, 1) == (1, 1)
