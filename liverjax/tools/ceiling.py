"""The phantom's ceiling for an experiment's classifier: python -m liverjax.tools.ceiling
--workdir=W [--rois=20000 --check_rois=10000].

How well can the experiment's classifier do when real data is not scarce? It trains the same
architecture and optimizer (config.model, config.train) on `rois` fresh phantom ROIs (new
patients, the experiment's phantom settings, seed +4000; equal classes, no augmentation),
early-stopped on 1,500 more (seed +5000): after each epoch its validation accuracy is measured,
and training stops when it has not improved for `patience` epochs; the best epoch's weights are
kept. Those weights are evaluated on each fold's test ROIs (data.json), as the arms are. The same
with `check_rois` ROIs tells whether the ceiling has saturated: if twice the ROIs still gain, the
ceiling is a lower bound. Writes W/ceiling.json, which the report shows beside the arms.

Only for experiments on the phantom, whose generator can draw fresh patients. Runs on one device.
"""

from __future__ import annotations

import functools
import logging
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import flags

from liverjax.base import cli, errors, workdir as wd
from liverjax.datasets import phantom, sources
from liverjax.evaluation import classification, inference
from liverjax.experiment import builders
from liverjax.steps import classifier, epochs

FLAGS = flags.FLAGS
TRAIN_SEED, VAL_SEED, VAL_ROIS = 4000, 5000, 1500


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment on the phantom.')
  flags.DEFINE_integer('rois', 20000, 'Fresh phantom ROIs to train the ceiling classifier on.')
  flags.DEFINE_integer('check_rois', 10000, 'Fewer ROIs, to check the ceiling has saturated '
                       '(0: skip).')
  flags.DEFINE_integer('max_epochs', 60, 'Epochs at most.')
  flags.DEFINE_integer('patience', 5, 'Epochs without a better validation accuracy before stopping.')


def _fresh(pcfg, seed_offset: int, n: int, k: int):
  return phantom.load_phantom((max(1, n // k),) * k, pcfg.seed + seed_offset,
                              **phantom.settings(pcfg))


def _first_per_class(ds, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
  """Returns the images and labels of the first n // k ROIs of each class (nested in n)."""
  idx = np.concatenate([np.flatnonzero(ds.labels == c)[:max(1, n // k)] for c in range(k)])
  return ds.images[idx], ds.labels[idx]


def train_ceiling(config, train_images, train_labels, val, max_epochs: int, patience: int,
                  key: jax.Array):
  """Returns (predict(images) -> labels, record) of config's classifier trained on the given
  fresh phantom ROIs, early-stopped on the fresh validation ROIs `val`."""
  k = len(config.data.phantom.counts)
  model = builders.make_classifier(config.model, k)
  tx = builders.make_classifier_optimizer(config.train)
  images = jnp.asarray(train_images)
  state = classifier.init_state(model, tx, jax.random.fold_in(key, 0), images.mean(0))
  bs = int(config.train.batch_size)
  step_fn = functools.partial(classifier.train_step, model=model, tx=tx)
  epoch_fn = jax.jit(lambda s, d, kk: epochs.train_epoch(s, d, kk, step_fn=step_fn,
                                                          batch_size=bs))
  logits_fn = jax.jit(lambda s, x: classifier.predict(s, x, model=model, batch_size=bs))
  predict = lambda s, x: np.asarray(jnp.argmax(logits_fn(s, jnp.asarray(x, jnp.float32)), -1))
  data = {'image': images, 'label': jnp.asarray(train_labels)}
  best, best_acc, best_epoch, curve = state, -1.0, 0, []
  for epoch in range(1, max_epochs + 1):
    state, metrics = epoch_fn(state, data, jax.random.fold_in(key, 1))
    acc = float(np.mean(predict(state, val.images) == val.labels))
    curve.append({'epoch': epoch, 'val_accuracy': acc,
                  'train_accuracy': float(metrics['accuracy'])})
    logging.info('ceiling, %d ROIs: epoch %d, validation accuracy %.3f', len(train_labels), epoch,
                 acc)
    if acc > best_acc:
      best, best_acc, best_epoch = state, acc, epoch
    elif epoch - best_epoch >= patience:
      break
  record = {'rois': len(train_labels), 'validation_rois': len(val), 'best_epoch': best_epoch,
            'epochs': len(curve), 'val_accuracy': best_acc, 'curve': curve}
  return functools.partial(predict, best), record


def run(workdir: str, rois: int, check_rois: int, max_epochs: int, patience: int) -> dict:
  """Trains the ceiling classifier(s) for an experiment and writes W/ceiling.json."""
  cfg_dict, data = (wd.read_json(os.path.join(workdir, n)) for n in ('config.json', 'data.json'))
  if cfg_dict is None or data is None:
    raise errors.WorkdirError(f'{workdir}: no config.json and data.json (is it a classifier '
                              'experiment?)')
  config = ml_collections.ConfigDict(cfg_dict)
  if config.data.source != 'phantom':
    raise errors.ConfigError(f'{workdir}: data.source={config.data.source}; the ceiling draws '
                             'fresh phantom ROIs, so it needs the phantom')
  ds = sources.load(config.data)
  k = len(ds.classes)
  sizes = sorted({rois} | ({check_rois} if check_rois else set()))
  fresh, val = (_fresh(config.data.phantom, off, n, k)
                for off, n in ((TRAIN_SEED, sizes[-1]), (VAL_SEED, VAL_ROIS)))
  out = {'per_n': {}}
  for n in sizes:   # the smaller set is the first part of the larger, class by class
    predict, record = train_ceiling(config, *_first_per_class(fresh, n, k), val, max_epochs,
                                    patience, jax.random.key(n))
    preds = predict(ds.images)
    per_fold = [float(np.mean(preds[t] == ds.labels[t])) for t in data['test_indices']]
    record['accuracy'] = dict(classification.proportion_ci95(
        per_fold, min(len(t) for t in data['test_indices'])), per_fold=per_fold)
    out['per_n'][str(n)] = record
  out['rois'] = rois
  out['accuracy'] = out['per_n'][str(rois)]['accuracy']
  if check_rois and check_rois != rois:
    a, b = (out['per_n'][str(n)]['accuracy']['per_fold'] for n in (rois, check_rois))
    out['saturation'] = dict(inference.paired(a, b, inference.Design.replicates(
        len(a), 'disjoint test parts (one classifier)')), fewer=check_rois)
  wd.write_json(os.path.join(workdir, 'ceiling.json'), out)
  return out


def main(argv):
  del argv
  with wd.locked(FLAGS.workdir):   # the one writer of this workdir
    _main()


def _main():
  logging.getLogger().setLevel(logging.INFO)
  out = run(FLAGS.workdir, FLAGS.rois, FLAGS.check_rois, FLAGS.max_epochs, FLAGS.patience)
  for n, r in out['per_n'].items():
    acc = r['accuracy']
    print(f'{n} fresh ROIs: accuracy {100 * acc["mean"]:.1f}% [{100 * acc["ci95"][0]:.1f}, '
          f'{100 * acc["ci95"][1]:.1f}] (best epoch {r["best_epoch"]} of {r["epochs"]})')
  print(f'{FLAGS.workdir}/ceiling.json written; rebuild the report to show it')


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  cli.run(main)
