"""Class fidelity of a phantom GAN job's samples ("GAN-test"), against a classifier trained on
an independent phantom: python -m liverjax.tools.class_fidelity --workdir=W [--workdir=W2 ...].

Do a GAN's synthetic lesions carry what tells their class apart? This trains the paper's
classifier on an *independent* phantom (the job's phantom settings, another seed; classic
augmented) and reports, per class, the share of the job's ``samples.npz`` images it assigns to
their intended class, beside its sensitivity on a second independent phantom: the real reference
("GAN-test" in Shmelkov et al. 2018, "How good is my GAN?"). Far below the reference: the
samples lack the class's features. At or above it: recognisable, which alone does not make them
varied or realistic (see ``gan_summary.json``'s diversity and grid). Writes
W/class_fidelity.json.

Only for jobs on the phantom (``data.source == 'phantom'``), whose generator can draw fresh
patients. On your own data, the experiment's report has the same check with each fold's classic
classifier and real test ROIs (:func:`liverjax.experiment.summary.gan_fidelity`).
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from liverjax import augment
from liverjax.base import cli, errors, workdir as wd
from liverjax.datasets import phantom as phantom_lib
from liverjax.evaluation import classification
from liverjax.models import classifier
from liverjax.steps import classifier as classifier_steps
from liverjax.steps import epochs as epoch_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_multi_string('workdir', None, 'Workdir(s) of finished dcgan/acgan phantom jobs.')
  flags.DEFINE_integer('per_class', 200, 'Independent phantom ROIs per class to train on.')
  flags.DEFINE_integer('augmented', 6016, 'Classic variants the classifier trains on.')
  flags.DEFINE_integer('epochs', 15, 'Classifier epochs.')


def reference_classifier(phantom_cfg: dict, per_class: int, augmented: int, epochs: int,
                         features=(32, 64, 128), dense: int = 500, batch_size: int = 64):
  """Returns (predict(images) -> labels, sensitivity per class on a fresh phantom) of the paper's
  classifier trained on classic variants of a phantom of per_class ROIs per class. The phantoms
  use phantom_cfg's settings with seeds +1000 (training) and +2000 (reference): no patient is
  shared with the job's data (seed +0)."""
  def phantom(offset, n):
    return phantom_lib.load_phantom((n,) * len(phantom_cfg['counts']), phantom_cfg['seed'] + offset,
                                    **phantom_lib.settings(phantom_cfg))
  tr, te = phantom(1000, per_class), phantom(2000, max(per_class // 2, 1))
  key = jax.random.key(0)
  size = -(-augmented // batch_size) * batch_size
  images, labels = jax.jit(augment.classic_augment, static_argnums=4)(
      jax.random.fold_in(key, 0), jnp.asarray(tr.images), jnp.asarray(tr.labels),
      jnp.asarray(tr.diameter_px, jnp.float32), size)
  model = classifier.Classifier(num_classes=len(tr.classes), features=tuple(features), dense=dense,
                            input_grad=False)
  tx = classifier_steps.make_optimizer()
  state = classifier_steps.init_state(model, tx, jax.random.fold_in(key, 1), jnp.mean(images, 0))
  step_fn = functools.partial(classifier_steps.train_step, model=model, tx=tx)
  epoch_fn = jax.jit(lambda s, d, k: epoch_lib.train_epoch(s, d, k, step_fn=step_fn,
                                                       batch_size=batch_size))
  for e in range(epochs):
    state, _ = epoch_fn(state, {'image': images, 'label': labels}, jax.random.fold_in(key, 2 + e))
  logits_fn = jax.jit(lambda s, x: classifier_steps.predict(s, x, model=model,
                                                           batch_size=batch_size))
  predict = lambda x: np.asarray(jnp.argmax(logits_fn(state, jnp.asarray(x, jnp.float32)), -1))
  cm = classification.confusion_matrix(te.labels, predict(te.images), len(tr.classes))
  return predict, classification.metrics_from_confusion(cm)['sensitivity'], tr.classes


def class_fidelity(workdir: str, predict, reference: list[float], classes) -> dict:
  """Returns (and writes to workdir/class_fidelity.json) the GAN-test of workdir/samples.npz."""
  path = os.path.join(workdir, 'samples.npz')
  if not os.path.exists(path):
    raise errors.ConfigError(f'{path}: missing; is the GAN job in {workdir} finished?')
  with np.load(path) as z:
    got, images, labels = [str(c) for c in z['classes']], z['images'], z['labels']
  if tuple(got) != tuple(classes):
    raise errors.ConfigError(f'{path}: classes {got}, expected the phantom\'s {list(classes)}')
  cm = classification.confusion_matrix(labels, predict(images), len(classes))
  share = classification.metrics_from_confusion(cm)['sensitivity']
  out = {'per_class': {c: {'synthetic': share[i], 'real_reference': reference[i]}
                       for i, c in enumerate(classes)},
         'synthetic_confusion': cm.tolist()}
  wd.write_json(os.path.join(workdir, 'class_fidelity.json'), out)
  return out


def main(argv):
  del argv
  run(FLAGS.workdir, FLAGS.per_class, FLAGS.augmented, FLAGS.epochs)


def run(workdirs: list[str], per_class: int, augmented: int, epochs: int) -> None:
  """Trains the reference classifier once and GAN-tests each workdir, printing the shares."""
  configs = [wd.read_json(os.path.join(w, 'config.json')) for w in workdirs]
  for w, c in zip(workdirs, configs):
    if c is None or c.get('job') != 'gan' or c['data']['source'] != 'phantom':
      raise errors.ConfigError(f'{w}: not a finished GAN job on the phantom (config.json)')
    if c['data']['phantom'] != configs[0]['data']['phantom']:
      raise errors.ConfigError(f'{w}: other phantom settings than {workdirs[0]}')
  predict, reference, classes = reference_classifier(configs[0]['data']['phantom'], per_class,
                                                     augmented, epochs)
  print('classifier on an independent phantom, sensitivity: ' +
        ', '.join(f'{c} {100 * s:.0f}%' for c, s in zip(classes, reference)))
  for w in workdirs:
    r = class_fidelity(w, predict, reference, classes)
    print(f'{w}: synthetic images assigned to their class: ' +
          ', '.join(f'{c} {100 * v["synthetic"]:.0f}%' for c, v in r['per_class'].items()))


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  cli.run(main)
