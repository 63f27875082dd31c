"""The per-op profile (benchmarks/op_profile.py): its reading of XLA's module text (matmul FLOPs,
each op's kind and place) and one profile of a tiny classifier step end to end."""

import jax
import jax.numpy as jnp
import pytest

from benchmarks import op_profile as profile, run
from benchmarks.bench import harness


def _compiled_text(f, *args) -> str:
  return jax.jit(f).lower(*args).compile().as_text()


def test_matmul_flops_are_read_from_the_dots_shapes():
  a, b = jnp.ones((32, 48)), jnp.ones((48, 16))
  hlo = profile.parse_hlo(_compiled_text(lambda a, b: jnp.tanh(a @ b), a, b))
  assert sum(v['flops'] for k, v in hlo.items() if k.startswith('@')) == 2 * 32 * 16 * 48
  # a batched contraction: K is the product of the contracting dims only
  x, y = jnp.ones((4, 8, 6)), jnp.ones((4, 6, 5))
  hlo = profile.parse_hlo(_compiled_text(lambda x, y: jnp.einsum('bij,bjk->bik', x, y), x, y))
  assert sum(v['flops'] for k, v in hlo.items() if k.startswith('@')) == 2 * 4 * 8 * 5 * 6
  dots = [k for k, v in hlo.items() if v.get('op') == 'dot']
  assert dots and all(profile.kind_of(k, hlo) == ('matmul', hlo[k]['flops']) for k in dots)


def test_each_op_gets_the_kind_of_what_it_computes():
  x = jnp.ones((64, 300))
  hlo = profile.parse_hlo(_compiled_text(
      lambda x: (x @ x.T, jnp.sum(x, axis=0), jnp.concatenate([x[:, 1:], x[:, :1]], 1)), x))
  kinds = {profile.kind_of(name, hlo)[0] for name, v in hlo.items()
           if not name.startswith('@') and v['comp'].startswith('main')}
  assert {'matmul', 'reductions', 'patches & layout'} <= kinds
  assert profile.kind_of('no such op', hlo) == ('elementwise', 0.0)


@pytest.mark.parametrize('op_name, place', [
    ('jit(train_epoch)/while/body/closed_call/transpose(jvp(Classifier))/Conv_1/nhwp,pf->nhwf/'
     'dot_general', ('Classifier/Conv_1', 'backward')),
    ('jit(train_epoch)/while/body/closed_call/jvp(Classifier)/Conv_0/concatenate',
     ('Classifier/Conv_0', 'forward')),
    ('jit(train_epoch)/while/body/closed_call/jvp(Classifier)/reduce_max',
     ('Classifier/(model)', 'forward')),
    ('jit(train_epoch)/while/body/closed_call/transpose(jvp(DCGANGenerator))/DCGANGenerator._up/'
     'ConvTranspose_3/pad', ('DCGANGenerator/ConvTranspose_3', 'backward')),
    ('jit(train_epoch)/while/body/closed_call/add', ('step', '-')),
    ('', ('step', '-')),
])
def test_the_place_comes_from_the_name_stack(op_name, place):
  assert profile.place_of(op_name) == place


def test_vector_instructions_are_named_from_cpuinfo(tmp_path):
  info = tmp_path / 'cpuinfo'
  for flags, isa in (('fpu avx2', 'avx2'), ('avx2 avx512f', 'avx512'),
                     ('avx2 avx512f amx_tile', 'amx'), ('fpu', 'other')):
    info.write_text(f'flags\t\t: {flags}\n')
    assert profile.vector_isa(str(info)) == isa
  assert profile.vector_isa(str(tmp_path / 'missing')) == 'other'


def test_a_tiny_classifier_step_is_profiled_per_layer():
  entry = run.entries()['classifier_quick']
  c = entry.config.copy_and_resolve_references()
  c.model.features, c.model.dense = (4, 8, 8), 16
  r = profile.profile(harness.Entry('tiny', 'tiny', 'classifier', c), steps=2, peak_gflops=100.0)
  # every figure is rounded to 0.01 ms: sums agree within half of that per term
  assert sum(row['ms'] for row in r['rows']) == pytest.approx(
      r['thunk_ms_per_step'], abs=0.005 * (len(r['rows']) + 1))
  assert sum(r['thunk_ms_by_kind'].values()) == pytest.approx(
      r['thunk_ms_per_step'], abs=0.005 * (len(profile.KINDS) + 1))
  places = {(row['place'], row['pass'], row['kind']) for row in r['rows']}
  for layer in ('Conv_1', 'Conv_2', 'Dense_0'):   # every layer's matmuls, both passes
    assert (f'Classifier/{layer}', 'forward', 'matmul') in places
    assert (f'Classifier/{layer}', 'backward', 'matmul') in places
  # the matmuls' FLOPs per step: forward and both gradients of each matmul layer, and the weight
  # gradient of the one-channel first layer (its forward is a sum of slices, no matmul)
  n = harness.BATCH
  fwd = 2 * n * (32 * 32 * 9 * 4 * 8 + 16 * 16 * 9 * 8 * 8 + 8 * 8 * 8 * 16 + 16 * 3)
  first = 2 * n * 64 * 64 * 9 * 4
  assert r['matmul_gflop_per_step'] == pytest.approx((3 * fwd + first) / 1e9, abs=1.5e-3)
