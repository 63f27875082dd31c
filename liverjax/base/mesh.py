"""The device mesh and shardings: data parallel over a 1-D ('data',) mesh of all devices.

The same code runs on 1 CPU, 1 GPU, N GPUs/TPUs and several hosts (after
``jax.distributed.initialize``): parameters and the small data sets are replicated, batches are
split along their first axis over the 'data' axis, and ``jax.jit`` inserts the collectives.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from liverjax.base import errors


def make_mesh(num_devices: int | None = None) -> Mesh:
  """Returns a 1-D mesh named 'data' over the first num_devices devices (all by default)."""
  devices = jax.devices()
  n = len(devices) if not num_devices else num_devices
  if n > len(devices):
    raise errors.ConfigError(f'config.num_devices={n}: asked for {n} devices, only {len(devices)} available')
  return Mesh(np.asarray(devices[:n]), ('data',))


def replicated(mesh: Mesh) -> NamedSharding:
  """Returns the sharding that keeps a full copy on every device."""
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  """Returns the sharding that splits the leading (batch) axis over the 'data' axis."""
  return NamedSharding(mesh, P('data'))


def put_replicated(tree, mesh: Mesh):
  """Returns the host pytree as global arrays replicated over the mesh (works across hosts)."""
  sharding = replicated(mesh)

  def put(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

  return jax.tree.map(put, tree)


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """Raises ValueError unless batch_size splits evenly over the mesh's 'data' axis."""
  n = mesh.shape['data']
  if batch_size % n:
    raise errors.ConfigError(f'batch size {batch_size} is not divisible by the {n} devices of the mesh; '
                     f'set config.train.batch_size to a multiple of {n}')
