"""The cross-validated classifier experiment: arms x sizes x seeds x folds -> results.json.

An *arm* is a way to build the classifier's training set from a fold's real training images:
- ``none``: the real training ROIs as they are;
- ``classic``: a classic augmented set of N paper variants (:func:`liverjax.augment.classic_augment`)
  for every N in ``config.classic.sizes``; the arm's headline is the size with the best mean
  accuracy, selected on the test folds as the paper did (optimistic; the whole sweep is reported).

Each (arm, size, seed, fold) *run* trains the classifier from scratch, evaluates it on the fold's
real test ROIs and writes ``runs/<run>.json``. A re-run with the same workdir skips finished runs
and resumes unfinished ones from their latest checkpoint (saved every
``config.train.checkpoint_every`` epochs); keys derive from (seed, fold, size), so the results
equal those of an uninterrupted run.
"""

from __future__ import annotations

import functools
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from liverjax import augment, data, evaluation, grid, models, parallel, train, workdir as wd

ARMS = ('none', 'classic')


def run_name(arm: str, size: int, seed: int, fold: int) -> str:
  """Returns the name of one run, used for its files (runs/<name>.json, checkpoints/<name>)."""
  return f'{arm}_n{size}_seed{seed}_fold{fold}'


def run_key(seed: int, fold: int, size: int) -> jax.Array:
  """Returns the PRNG key of one run: a function of (seed, fold, size) only."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), fold), size)


class Experiment:
  """Holds what all runs share: data, folds, mesh, model, optimizer and the jitted functions."""

  def __init__(self, config, workdir: str):
    self.config, self.workdir = config, workdir
    self.ds = data.load(config.data)
    self.folds = data.stratified_group_kfold(self.ds.labels, self.ds.groups, config.folds,
                                             seed=config.split_seed)
    self.mesh = parallel.make_mesh(config.get('num_devices') or None)
    parallel.check_batch_size(config.train.batch_size, self.mesh)
    self.model = models.Classifier(num_classes=len(self.ds.classes),
                                   features=tuple(config.model.features),
                                   kernel_size=config.model.kernel_size,
                                   dense=config.model.dense, dropout=config.model.dropout)
    self.tx = train.make_optimizer(config.train.learning_rate, config.train.momentum,
                                   config.train.nesterov)
    diam = np.where(np.isnan(self.ds.diameter_px), config.augment.default_diameter_px,
                    self.ds.diameter_px).astype(np.float32)
    self.real = parallel.put_replicated(
        {'image': self.ds.images, 'label': self.ds.labels, 'diameter_px': diam}, self.mesh)
    batch_sharding = parallel.batch_sharded(self.mesh)
    online = (lambda k, x, d: augment.random_variant(
        k, x, d, tuple(config.augment.scale_range), config.augment.shift_cap_px)
              ) if config.classic.online else None
    step_fn = functools.partial(train.train_step, model=self.model, tx=self.tx)
    self.epoch_fn = jax.jit(lambda s, d, k, aug: train.train_epoch(
        s, d, k, step_fn=step_fn, batch_size=config.train.batch_size,
        batch_sharding=batch_sharding, augment_fn=online if aug else None),
                            static_argnums=3, donate_argnums=0)
    self.predict_fn = jax.jit(lambda s, x: train.predict(
        s, x, model=self.model, batch_size=config.train.batch_size,
        batch_sharding=batch_sharding))
    self.augment_fn = jax.jit(
        lambda k, x, y, d, size: augment.classic_augment(
            k, x, y, d, size, tuple(config.augment.scale_range), config.augment.shift_cap_px),
        static_argnums=4)
    self.writer = wd.ScalarWriter(os.path.join(workdir, 'tensorboard'))

  def training_set(self, arm: str, size: int, train_idx: np.ndarray, key: jax.Array) -> dict:
    """Returns the device-resident training set {'image', 'label', 'diameter_px'} of one run."""
    idx = jnp.asarray(train_idx)
    real = jax.tree.map(lambda a: a[idx], self.real)
    if arm == 'none' or size == 0:
      return real
    images, labels = self.augment_fn(key, real['image'], real['label'], real['diameter_px'], size)
    roi_diam = jnp.full((size,), self.config.augment.default_diameter_px, jnp.float32)
    return {'image': images, 'label': labels, 'diameter_px': roi_diam}

  def schedule(self, arm: str, size: int, fold: int) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) of a run: config.train.epochs, capped so that the run
    takes at most config.train.max_steps steps (0 = no cap) but always at least one epoch."""
    n = len(self.folds[fold][0]) if arm == 'none' or size == 0 else size
    steps = -(-n // self.config.train.batch_size)
    epochs = self.config.train.epochs
    if self.config.train.max_steps:
      epochs = max(1, min(epochs, self.config.train.max_steps // steps))
    return epochs, steps

  def run(self, arm: str, size: int, seed: int, fold: int, progress) -> dict:
    """Trains and evaluates one run (resuming from its checkpoint) and returns its record."""
    cfg = self.config
    name = run_name(arm, size, seed, fold)
    train_idx, test_idx = self.folds[fold]
    k_init, k_aug, k_train = jax.random.split(run_key(seed, fold, size), 3)
    train_set = self.training_set(arm, size, train_idx, k_aug)
    mean_image = jnp.mean(train_set['image'], axis=0)
    state = train.init_state(self.model, self.tx, k_init, mean_image)
    state = jax.device_put(state, parallel.replicated(self.mesh))
    mngr = wd.checkpoint_manager(os.path.join(self.workdir, 'checkpoints', name))
    start_epoch, state = wd.restore_latest(mngr, state)
    start_epoch = start_epoch or 0
    epochs, steps = self.schedule(arm, size, fold)
    progress.update(start_epoch * steps)
    online = arm == 'classic' and bool(cfg.classic.online)
    for epoch in range(start_epoch, epochs):
      state, metrics = self.epoch_fn(state, train_set, k_train, online)
      done = epoch + 1
      if done % cfg.train.log_every == 0 or done == epochs:
        self.writer.scalars(done, jax.device_get(metrics), prefix=f'{name}/train_')
        progress.set_postfix_str(f'{name} loss {float(metrics["loss"]):.3f}')
      if done % cfg.train.checkpoint_every == 0 or done == epochs:
        wd.save_state(mngr, done, state)
      progress.update(steps)
    mngr.close()
    logits = self.predict_fn(state, self.real['image'][jnp.asarray(test_idx)])
    preds = np.asarray(jnp.argmax(logits, -1))
    cm = evaluation.confusion_matrix(self.ds.labels[test_idx], preds, len(self.ds.classes))
    record = {'arm': arm, 'size': size, 'seed': seed, 'fold': fold, 'epochs': epochs,
              'steps': epochs * steps,
              'n_train': int(train_set['label'].shape[0]), 'n_test': int(len(test_idx)),
              'confusion': cm.tolist(), **evaluation.metrics_from_confusion(cm)}
    wd.write_json(os.path.join(self.workdir, 'runs', f'{name}.json'), record)
    return record


def plan(config) -> list[tuple[str, int, int, int]]:
  """Returns every (arm, size, seed, fold) run the config asks for, in execution order."""
  runs = []
  for arm in config.arms:
    if arm not in ARMS:
      raise ValueError(f'config.arms: unknown arm {arm!r} (known: {", ".join(ARMS)})')
    sizes = [0] if arm == 'none' else list(config.classic.sizes)
    for size in sizes:
      for seed in config.seeds:
        for fold in range(config.folds):
          runs.append((arm, int(size), int(seed), fold))
  return runs


def summarize(records: list[dict], classes, config) -> dict:
  """Returns the results.json content: one summary per arm (classic: best size + sweep)."""
  arms = {}
  for arm in config.arms:
    mine = [r for r in records if r['arm'] == arm]
    sizes = sorted({r['size'] for r in mine})
    sweep = {str(s): evaluation.summarize([r for r in mine if r['size'] == s], classes)
             for s in sizes}
    best = max(sizes, key=lambda s: sweep[str(s)]['accuracy']['mean'])
    arms[arm] = dict(sweep[str(best)], size=best)
    if arm == 'classic':
      arms[arm]['selection'] = ('size with the best mean test accuracy over the sweep '
                                '(as in the paper; optimistic)')
      arms[arm]['sweep'] = {s: {m: {'mean': v[m]['mean'], 'ci95': v[m]['ci95']}
                                for m in evaluation.SCALAR_METRICS} for s, v in sweep.items()}
  return {'classes': list(classes), 'arms': arms}


def train_and_evaluate(config, workdir: str) -> dict:
  """Runs the experiment the config describes in workdir and returns the results.json content."""
  t0 = time.time()
  os.makedirs(workdir, exist_ok=True)
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  exp = Experiment(config, workdir)
  ds = exp.ds
  for k, name in enumerate(ds.classes):   # what the classifier sees, to look at before trusting it
    grid.save_grid(os.path.join(workdir, 'figures', f'data_{name}.png'),
                   ds.images[ds.labels == k][:32], ncol=8, scale=2)
  logging.info('data %s: %d images, classes %s, counts %s, %d groups', ds.source, len(ds),
               ds.classes, ds.class_counts(), len(np.unique(ds.groups)))
  runs = plan(config)
  records = []
  total = sum(np.prod(exp.schedule(arm, size, fold)) for arm, size, _, fold in runs)
  progress = tqdm.tqdm(total=int(total), desc=f'{len(runs)} classifier runs', unit='step',
                       disable=not config.get('progress', True), smoothing=0.05)
  for arm, size, seed, fold in runs:
    path = os.path.join(workdir, 'runs', f'{run_name(arm, size, seed, fold)}.json')
    record = wd.read_json(path)
    if record is None:
      record = exp.run(arm, size, seed, fold, progress)
    else:
      progress.update(int(np.prod(exp.schedule(arm, size, fold))))
    records.append(record)
  progress.close()
  exp.writer.close()
  results = summarize(records, ds.classes, config)
  results['data'] = {'source': ds.source, 'n_images': len(ds), 'class_counts': ds.class_counts()}
  wd.write_json(os.path.join(workdir, 'results.json'), results)
  # Timing lives apart from results.json, which is a deterministic function of config and seeds.
  wd.write_json(os.path.join(workdir, 'timing.json'), {'total_s': round(time.time() - t0, 1)})
  return results
