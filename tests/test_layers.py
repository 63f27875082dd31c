import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from liverjax.models import conv_ops, layers


@pytest.mark.parametrize('impl', layers.IMPLS)
@pytest.mark.parametrize('size,cin,features,kernel,stride', [
    (64, 1, 8, 3, 1), (16, 5, 7, 5, 1), (32, 3, 4, 5, 2), (9, 2, 3, 3, 2), (8, 4, 6, 4, 1)])
def test_conv_equals_flax_conv(size, cin, features, kernel, stride, impl):
  key_x, key_p = jax.random.split(jax.random.key(size + kernel + stride))
  x = jax.random.normal(key_x, (2, size, size, cin))
  ours = layers.Conv(features, kernel, strides=stride, impl=impl)
  stock = nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding='SAME')
  variables = ours.init(key_p, x)
  ref_vars = stock.init(key_p, x)
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, ref_vars)
  # random bias too, so the test covers it
  variables = jax.tree.map(lambda a: jax.random.normal(jax.random.key(7), a.shape), variables)
  np.testing.assert_allclose(ours.apply(variables, x), stock.apply(variables, x),
                             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('impl', layers.IMPLS)
@pytest.mark.parametrize('cin,kernel,stride,hw', [
    (3, 3, 1, (12, 12)), (1, 3, 1, (12, 12)), (1, 5, 2, (12, 12)), (2, 4, 2, (12, 12)),
    (3, 5, 2, (8, 12)), (2, 3, 2, (10, 6)), (2, 5, 2, (9, 12))])   # H != W, odd H
def test_conv_gradients_equal_flax_conv(cin, kernel, stride, hw, impl):
  x = jax.random.normal(jax.random.key(0), (2, *hw, cin))
  ours = layers.Conv(4, kernel, strides=stride, impl=impl)
  stock = nn.Conv(4, (kernel, kernel), strides=(stride, stride), padding='SAME')
  v = ours.init(jax.random.key(1), x)
  g1 = jax.grad(lambda v, x: jnp.sum(ours.apply(v, x) ** 2), argnums=(0, 1))(v, x)
  g2 = jax.grad(lambda v, x: jnp.sum(stock.apply(v, x) ** 2), argnums=(0, 1))(v, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g1, g2)


@pytest.mark.parametrize('impl', layers.IMPLS)
@pytest.mark.parametrize('kernel,stride', [(3, 1), (5, 2), (4, 2)])
def test_conv_on_data_equals_flax_conv(kernel, stride, impl):
  # input_grad=False on one channel: the sum-of-slices form with its written-out weight gradient
  # (patches); same output and weight gradient as nn.Conv, and no gradient to the input (it is data)
  x = jax.random.normal(jax.random.key(0), (2, 12, 12, 1))
  ours = layers.Conv(4, kernel, strides=stride, input_grad=False, impl=impl)
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


def test_xla_impl_refuses_bfloat16():
  x = jnp.zeros((1, 8, 8, 2))
  for layer in (layers.Conv(3, 3, impl='xla', matmul_dtype='bfloat16'),
                layers.ConvTranspose(3, 5, impl='xla', matmul_dtype='bfloat16')):
    with pytest.raises(ValueError, match='float32 only'):
      layer.init(jax.random.key(0), x)


def test_same_padding():
  assert conv_ops.same_padding(64, 5, 2) == (1, 2)
  assert conv_ops.same_padding(64, 3, 1) == (1, 1)


def _round_bf16(a):
  return a.astype(jnp.bfloat16).astype(jnp.float32)


@pytest.mark.parametrize('kind,cin,features,kernel,stride', [
    ('conv', 3, 5, 3, 1), ('conv', 4, 6, 5, 2), ('conv', 1, 4, 3, 1),
    ('transpose', 3, 5, 5, 2),    # input side (features >= cin)
    ('transpose', 6, 2, 5, 2)])   # output side, with its written-out adjoint
def test_bfloat16_matmuls_round_operands_and_sum_in_float32(kind, cin, features, kernel, stride):
  # matmul_dtype='bfloat16' (conv_ops.matmul): the forward matmul and the input gradient's take
  # bfloat16-rounded operands (input and kernel; the output's cotangent) and sum in float32; the
  # weight gradient is a float32 matmul of the rounded input and the unrounded cotangent. A product
  # of two bfloat16 values is exact in float32, so each must equal the float32 stock layer (or its
  # vjp) at the rounded values, to float32 rounding; sums kept in bfloat16, or an unrounded
  # operand, would be off by ~1e-2 relative, far more than the tolerance.
  x = jax.random.normal(jax.random.key(cin), (2, 8, 8, cin))
  if kind == 'conv':
    stock = nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding='SAME',
                    use_bias=False)
    low = layers.Conv(features, kernel, strides=stride, use_bias=False, matmul_dtype='bfloat16')
  else:
    stock = nn.ConvTranspose(features, (kernel, kernel), strides=(stride, stride),
                             padding='SAME', use_bias=False)
    low = layers.ConvTranspose(features, kernel, stride, use_bias=False,
                               matmul_dtype='bfloat16')
  v = jax.tree.map(lambda a: jax.random.normal(jax.random.key(2), a.shape),
                   stock.init(jax.random.key(1), x))
  v_low = jax.tree.map(_round_bf16, v)
  y, vjp = jax.vjp(low.apply, v, x)
  y_ref, vjp_ref = jax.vjp(stock.apply, v_low, _round_bf16(x))
  np.testing.assert_allclose(y, y_ref, rtol=2e-5, atol=2e-5)
  assert y.dtype == jnp.float32
  # ... and the rounding did happen: the float32 layer differs by far more than that
  assert np.max(np.abs(y - stock.apply(v, x))) > 1e-3
  g = jax.random.normal(jax.random.key(3), y.shape)
  gv, gx = vjp(g)
  assert gx.dtype == jnp.float32 and gv['params']['kernel'].dtype == jnp.float32
  np.testing.assert_allclose(gx, vjp_ref(_round_bf16(g))[1], rtol=2e-5, atol=2e-5)
  np.testing.assert_allclose(gv['params']['kernel'], vjp_ref(g)[0]['params']['kernel'],
                             rtol=2e-5, atol=2e-5)
