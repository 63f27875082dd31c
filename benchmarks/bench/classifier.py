"""The classifier entries: the paper's classifier and the main job's narrow :quick classifier,
each as liverjax trains it (``steps.classifier.train_step``, SGD with Nesterov momentum)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from benchmarks.bench.harness import BATCH, Entry
from configs import common, variants
from liverjax.experiment import builders
from liverjax.steps import classifier as classifier_steps


def jax_step(cfg, batch: int = BATCH):
  """Returns (step_fn, state, batch) of the classifier experiment config cfg."""
  model = builders.make_classifier(cfg.model, 3)
  tx = classifier_steps.make_optimizer(1e-3, 0.9, True)
  state = classifier_steps.init_state(model, tx, jax.random.key(0), jnp.zeros((64, 64, 1)))
  data = {'image': jax.random.uniform(jax.random.key(1), (batch, 64, 64, 1)),
          'label': jax.random.randint(jax.random.key(2), (batch,), 0, 3)}
  return functools.partial(classifier_steps.train_step, model=model, tx=tx), state, data


def entries() -> list[Entry]:
  """Returns the paper's classifier and the main job's (dcgan_aug.py:quick) narrow one."""
  quick = common.apply(common.base_config(), variants.AUG_QUICK)
  return [Entry('classifier', 'paper classifier (32/64/128, dense 500), SGD Nesterov',
                'classifier', common.base_config()),
          Entry('classifier_quick', "the main job's :quick classifier (16/32/64, dense 128)",
                'classifier', quick)]
