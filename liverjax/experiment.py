"""The cross-validated classifier experiment: arms x sizes x seeds x folds -> results.json.

An *arm* is a way to build the classifier's training set from a fold's real training images:
- ``none``: the real training ROIs as they are;
- ``classic``: a classic augmented set of N paper variants (:func:`liverjax.augment.classic_augment`)
  for every N in ``config.classic.sizes``; the arm's headline is the size with the best mean
  accuracy, selected on the test folds as the paper did (optimistic; the whole sweep is reported).
- ``dcgan`` / ``acgan``: the classic set of ``config.synthetic.classic_size`` (the very images of
  the classic run of that size, same keys) plus N generated images per class for every N in
  ``config.synthetic.per_class`` (:func:`liverjax.augment.mix_synthetic`). The GANs of a fold
  are trained once per fold (``config.dcgan`` / ``config.acgan``), on classic variants of that
  fold's *training* ROIs only, and shared by the fold's seeds and sizes.

Each (arm, size, seed, fold) *run* trains the classifier from scratch, evaluates it on the fold's
real test ROIs and writes ``runs/<run>.json``. With ``config.train.vmap_folds`` the folds of an
(arm, size, seed) train at once, vmapped over stacked states and sets (:meth:`Experiment.run_folds`;
same records). A re-run with the same workdir skips finished runs
and resumes unfinished ones from their latest checkpoint (saved every
``config.train.checkpoint_every`` epochs); keys derive from (seed, fold, size), so the results
equal those of an uninterrupted run.

After the runs, GAN arms get two checks of their synthetic pools in results.json and the report:
diversity (``gan_experiment.diversity_check``, collapse) and class fidelity (:func:`gan_fidelity`:
does a classifier trained on real images only recognise each synthetic image's class?).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from liverjax import augment, data, evaluation, gan_experiment, grid, models, parallel, report
from liverjax import errors, timing, train
from liverjax import workdir as wd

ARMS = ('none', 'classic', 'dcgan', 'acgan')
GAN_ARMS = ('dcgan', 'acgan')


def run_name(arm: str, size: int, seed: int, fold: int) -> str:
  """Returns the name of one run, used for its files (runs/<name>.json, checkpoints/<name>)."""
  return f'{arm}_n{size}_seed{seed}_fold{fold}'


def run_key(seed: int, fold: int, size: int) -> jax.Array:
  """Returns the PRNG key of one run: a function of (seed, fold, size) only."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), fold), size)


class Experiment:
  """Holds what all runs share: data, folds, mesh, model, optimizer and the jitted functions."""

  def __init__(self, config, workdir: str, ds: data.Dataset | None = None,
               stopwatch: timing.Stopwatch | None = None):
    self.config, self.workdir = config, workdir
    self.stopwatch = stopwatch or timing.Stopwatch()
    with self.stopwatch('data'):
      self.ds = data.load(config.data) if ds is None else ds
      self.folds = data.stratified_group_kfold(self.ds.labels, self.ds.groups, config.folds,
                                               seed=config.split_seed)
    self.mesh = parallel.make_mesh(config.get('num_devices') or None)
    parallel.check_batch_size(config.train.batch_size, self.mesh)
    dtype_name = config.model.get('matmul_dtype', 'float32')
    self.model = models.Classifier(num_classes=len(self.ds.classes),
                                   features=tuple(config.model.features),
                                   kernel_size=config.model.kernel_size,
                                   dense=config.model.dense, dropout=config.model.dropout,
                                   input_grad=False,   # images are data: faster first layer
                                   matmul_dtype=models.matmul_dtype(dtype_name,
                                                                    'model.matmul_dtype'),
                                   conv_impl=models.conv_impl(
                                       config.model.get('conv_impl', 'auto'), dtype_name,
                                       'model.conv_impl'))
    self.tx = train.make_optimizer(config.train.learning_rate, config.train.momentum,
                                   config.train.nesterov)
    # GAN arms' modules and optimizers: built (and a bad config refused) now, not after hours
    self._gan_setups = {kind: gan_experiment.make_setup(config[kind], len(self.ds.classes))
                        for kind in config.arms if kind in GAN_ARMS}
    diam = np.where(np.isnan(self.ds.diameter_px), config.augment.default_diameter_px,
                    self.ds.diameter_px).astype(np.float32)
    self.real = parallel.put_replicated(
        {'image': self.ds.images, 'label': self.ds.labels, 'diameter_px': diam}, self.mesh)
    batch_sharding = parallel.batch_sharded(self.mesh)
    online = (lambda k, x, d: augment.random_variant(
        k, x, d, tuple(config.augment.scale_range), config.augment.shift_cap_px)
              ) if config.classic.online else None
    step_fn = functools.partial(train.train_step, model=self.model, tx=self.tx)
    # Training sets come with their number of examples n (traced): a fold's real ROIs are padded
    # to whole batches (train.pad_rows), so folds of similar size share one compilation.
    epoch = lambda s, d, n, k, aug: train.train_epoch(
        s, d, k, step_fn=step_fn, batch_size=config.train.batch_size,
        batch_sharding=batch_sharding, augment_fn=online if aug else None, n=n)
    self.epoch_fn = jax.jit(epoch, static_argnums=4, donate_argnums=0)
    # config.train.vmap_folds: several folds' epochs as one program over stacked states and sets
    self.epoch_folds_fn = jax.jit(
        lambda s, d, n, k, aug: jax.vmap(functools.partial(epoch, aug=aug))(s, d, n, k),
        static_argnums=4, donate_argnums=0)
    replicated = parallel.replicated(self.mesh)
    self.stack_fn = jax.jit(lambda trees: jax.tree.map(lambda *a: jnp.stack(a), *trees),
                            out_shardings=replicated)
    self.fold_state_fn = jax.jit(lambda s, i: jax.tree.map(lambda a: a[i], s),
                                 static_argnums=1, out_shardings=replicated)
    self.mean_fn = jax.jit(lambda x, n: jnp.sum(
        jnp.where((jnp.arange(x.shape[0]) < n)[:, None, None, None], x, 0.0), 0) / n)
    self.predict_fn = jax.jit(lambda s, x: train.predict(
        s, x, model=self.model, batch_size=config.train.batch_size,
        batch_sharding=batch_sharding))
    self.predict_features_fn = jax.jit(lambda s, x: train.predict(
        s, x, model=self.model, batch_size=config.train.batch_size,
        batch_sharding=batch_sharding, return_features=True))
    self.augment_fn = jax.jit(
        lambda k, x, y, d, n, size: augment.classic_augment(
            k, x, y, d, size, tuple(config.augment.scale_range), config.augment.shift_cap_px,
            n=n), static_argnums=5)
    self.mix_fn = jax.jit(augment.mix_synthetic, static_argnums=5)
    self._writer = None
    self._pools, self._trainers = {}, {}

  @property
  def writer(self) -> wd.ScalarWriter:
    """TensorBoard writer, created on first use (constructing an Experiment writes nothing)."""
    if self._writer is None:
      self._writer = wd.ScalarWriter(os.path.join(self.workdir, 'tensorboard'))
    return self._writer

  def pool(self, kind: str, fold: int) -> tuple[jax.Array, jax.Array]:
    """Returns (images, labels) generated by the fold's GAN(s) of `kind`, trained (or resumed)
    on classic variants of the fold's training ROIs only; max(per_class) images per class."""
    if (kind, fold) not in self._pools:
      cfg = self.config
      train_idx, test_idx = self.folds[fold]
      assert not set(train_idx.tolist()) & set(test_idx.tolist()), 'test ROIs in GAN training set'
      gcfg = cfg[kind]
      if kind not in self._trainers:   # one per kind: its jitted steps compile once, not per fold
        self._trainers[kind] = gan_experiment.GANTrainer(
            self._gan_setups[kind], gcfg, self.mesh, self.writer,
            tuple(cfg.augment.scale_range), cfg.augment.shift_cap_px)
      trainer = self._trainers[kind]
      real = jax.tree.map(lambda a: a[jnp.asarray(train_idx)], self.real)
      n_pool = max(cfg.synthetic.per_class)
      names = gan_experiment.model_names(kind, self.ds.classes)
      total = sum(np.prod(trainer.schedule(gcfg.augmented_per_class * len(c))) for _, c in names)
      progress = tqdm.tqdm(total=int(total), desc=f'{kind} GANs, fold {fold}', unit='step',
                           disable=not cfg.get('progress', True), smoothing=0.05, leave=False)
      key = jax.random.fold_in(jax.random.key(cfg.synthetic.gan_seed), fold)
      images, labels, diversity = gan_experiment.train_and_sample(
          trainer, real, self.ds.classes, key,
          os.path.join(self.workdir, 'gan', f'{kind}_fold{fold}'), progress, n_pool,
          grid_dir=os.path.join(self.workdir, 'figures', f'{kind}_fold{fold}'),
          prefix=f'{kind}_fold{fold}/', stopwatch=self.stopwatch)
      progress.close()
      augment.check_pool(labels, (n_pool,) * len(self.ds.classes))   # on host, before sharding
      wd.write_json(self.diversity_path(kind, fold), diversity)
      self._pools[(kind, fold)] = parallel.put_replicated((images, labels), self.mesh)
    return self._pools[(kind, fold)]

  def diversity_path(self, kind: str, fold: int) -> str:
    return os.path.join(self.workdir, 'gan', f'{kind}_fold{fold}', 'diversity.json')

  def gan_diversity(self) -> dict:
    """Returns {'<kind>_fold<k>': {class: diversity_check result}} of every GAN arm's pools
    (written when a pool is built; rebuilt from the checkpoints if missing)."""
    out = {}
    for kind in [a for a in self.config.arms if a in GAN_ARMS]:
      for fold in range(self.config.folds):
        if not os.path.exists(self.diversity_path(kind, fold)):
          self.pool(kind, fold)
        out[f'{kind}_fold{fold}'] = wd.read_json(self.diversity_path(kind, fold))
    return out

  def load_classifier(self, name: str):
    """Returns (epoch, state) of run `name`'s latest checkpoint, or (None, None) if it has none."""
    template = jax.device_put(
        train.init_state(self.model, self.tx, jax.random.key(0),
                         jnp.zeros(self.ds.images.shape[1:], jnp.float32)),
        parallel.replicated(self.mesh))
    mngr = wd.checkpoint_manager(os.path.join(self.workdir, 'checkpoints', name))
    epoch, state = wd.restore_latest(mngr, template)
    mngr.close()
    return (None, None) if epoch is None else (epoch, state)

  def training_set(self, arm: str, size: int, seed: int, fold: int,
                   key: jax.Array) -> tuple[dict, np.int32]:
    """Returns (the device-resident training set {'image', 'label', 'diameter_px'} of one run,
    its number of examples n): rows past n are padding, never drawn (train.pad_rows)."""
    real, n = train.pad_rows(self.real, self.folds[fold][0], self.config.train.batch_size)
    if arm == 'none' or size == 0:
      return real, np.int32(n)
    if arm in GAN_ARMS:
      self.pool(arm, fold)   # trains the fold's GANs first: timed as GAN training, generation
    with self.stopwatch('augmentation'):
      train_set = jax.block_until_ready(
          self._augmented_set(arm, size, seed, fold, key, real, np.int32(n)))
    return train_set, np.int32(train_set['label'].shape[0])

  def _augmented_set(self, arm, size, seed, fold, key, real, n) -> dict:
    n_classic = size if arm == 'classic' else self.config.synthetic.classic_size
    if arm != 'classic':   # the classic part is exactly the classic run's set of that size
      key = jax.random.split(run_key(seed, fold, n_classic), 3)[1]
    images, labels = self.augment_fn(key, real['image'], real['label'], real['diameter_px'], n,
                                     n_classic)
    if arm in GAN_ARMS:
      gen_images, gen_labels = self.pool(arm, fold)
      per_class = (size,) * len(self.ds.classes)
      images, labels = self.mix_fn(jax.random.fold_in(key, size), images, labels, gen_images,
                                   gen_labels, per_class)
    diam = jnp.full((labels.shape[0],), self.config.augment.default_diameter_px, jnp.float32)
    return {'image': images, 'label': labels, 'diameter_px': diam}

  def schedule(self, arm: str, size: int, fold: int) -> tuple[int, int]:
    """Returns (epochs, steps per epoch) of a run: config.train.epochs, capped so that the run
    takes at most config.train.max_steps steps (0 = no cap) but always at least one epoch."""
    if arm == 'none' or size == 0:
      n = len(self.folds[fold][0])
    elif arm == 'classic':
      n = size
    else:
      n = self.config.synthetic.classic_size + size * len(self.ds.classes)
    t = self.config.train
    return train.schedule(n, t.batch_size, t.epochs, t.max_steps)

  def _start(self, arm: str, size: int, seed: int, fold: int) -> dict:
    """Returns what one run trains with: its training set, initial (or restored) state, open
    checkpoint manager, first epoch, schedule and training key."""
    k_init, k_aug, k_train = jax.random.split(run_key(seed, fold, size), 3)
    train_set, n_train = self.training_set(arm, size, seed, fold, k_aug)
    mean_image = self.mean_fn(train_set['image'], n_train)
    state = train.init_state(self.model, self.tx, k_init, mean_image)
    state = jax.device_put(state, parallel.replicated(self.mesh))
    name = run_name(arm, size, seed, fold)
    mngr = wd.checkpoint_manager(os.path.join(self.workdir, 'checkpoints', name))
    start_epoch, state = wd.restore_latest(mngr, state)
    epochs, steps = self.schedule(arm, size, fold)
    return dict(name=name, arm=arm, size=size, seed=seed, fold=fold, train_set=train_set,
                n_train=n_train, state=state, mngr=mngr, start_epoch=start_epoch or 0,
                epochs=epochs, steps=steps, k_train=k_train)

  def _finish(self, run: dict, state) -> dict:
    """Evaluates a trained run on its fold's test ROIs, writes and returns its record."""
    test_idx = self.folds[run['fold']][1]
    with self.stopwatch('evaluation'):
      # All real ROIs, then the fold's test ROIs on the host: one shape, so one compilation.
      logits = self.predict_fn(state, self.real['image'])
      preds = np.asarray(jnp.argmax(logits, -1))[test_idx]
      cm = evaluation.confusion_matrix(self.ds.labels[test_idx], preds, len(self.ds.classes))
    record = {'arm': run['arm'], 'size': run['size'], 'seed': run['seed'], 'fold': run['fold'],
              'epochs': run['epochs'], 'steps': run['epochs'] * run['steps'],
              'n_train': int(run['n_train']), 'n_test': int(len(test_idx)),
              'confusion': cm.tolist(), **evaluation.metrics_from_confusion(cm)}
    wd.write_json(os.path.join(self.workdir, 'runs', f'{run["name"]}.json'), record)
    return record

  def _epochs(self, runs: list[dict], epoch_fn, state, progress):
    """Trains runs (one, or several folds stacked for epoch_fn) from their common first epoch to
    their common last, checkpointing each run; returns the final (stacked) state."""
    cfg, sw, first = self.config, self.stopwatch, runs[0]
    progress.update(first['start_epoch'] * first['steps'] * len(runs))
    online = first['arm'] == 'classic' and bool(cfg.classic.online)
    try:
      for epoch in range(first['start_epoch'], first['epochs']):
        with sw('classifier training'):
          state, metrics = epoch_fn(state, online)
          metrics = jax.device_get(metrics)
        done = epoch + 1
        for i, run in enumerate(runs):
          if done % cfg.train.log_every == 0 or done == first['epochs']:
            mine = metrics if len(runs) == 1 else jax.tree.map(lambda m: m[i], metrics)
            self.writer.scalars(done, mine, prefix=f'{run["name"]}/train_')
            progress.set_postfix_str(f'{run["name"]} loss {float(mine["loss"]):.3f}')
          if done % cfg.train.checkpoint_every == 0 or done == first['epochs']:
            with sw('checkpointing'):   # written while training goes on
              wd.save_state(run['mngr'], done, state if len(runs) == 1
                            else self.fold_state_fn(state, i), wait=False)
        progress.update(first['steps'] * len(runs))
    finally:
      with sw('checkpointing'):
        for run in runs:
          run['mngr'].close()   # waits for the last save to be on disk, also when training raised
    return state

  def _train_and_finish(self, r: dict, progress) -> dict:
    state = self._epochs([r], lambda s, online: self.epoch_fn(
        s, r['train_set'], r['n_train'], r['k_train'], online), r['state'], progress)
    return self._finish(r, state)

  def run(self, arm: str, size: int, seed: int, fold: int, progress) -> dict:
    """Trains and evaluates one run (resuming from its checkpoint) and returns its record."""
    return self._train_and_finish(self._start(arm, size, seed, fold), progress)

  def run_folds(self, arm: str, size: int, seed: int, folds, progress) -> list[dict]:
    """Trains and evaluates the runs of several folds of one (arm, size, seed) at once: their
    states and training sets stacked, one vmapped epoch program (config.train.vmap_folds).
    Each fold keeps its own keys, checkpoints and record, as :meth:`run` would write them.
    Folds whose padded training sets, schedules or resume points differ run one by one."""
    runs = [self._start(arm, size, seed, fold) for fold in folds]
    same = {(r['train_set']['label'].shape, r['start_epoch'], r['epochs'], r['steps'])
            for r in runs}
    if len(runs) == 1 or len(same) > 1:
      return [self._train_and_finish(r, progress) for r in runs]
    # stacked copies; each run's own set and state are let go (not held twice on the device)
    stack = lambda key: self.stack_fn([r.pop(key) for r in runs])
    train_set, state = stack('train_set'), stack('state')
    n_train = self.stack_fn([r['n_train'] for r in runs])   # kept: each run's record has its n
    k_train = stack('k_train')
    state = self._epochs(runs, lambda s, online: self.epoch_folds_fn(
        s, train_set, n_train, k_train, online), state, progress)
    return [self._finish(r, self.fold_state_fn(state, i)) for i, r in enumerate(runs)]


def plan(config) -> list[tuple[str, int, int, int]]:
  """Returns every (arm, size, seed, fold) run the config asks for, in execution order."""
  runs = []
  for arm in config.arms:
    if arm not in ARMS:
      raise errors.ConfigError(f'config.arms: unknown arm {arm!r} (known: {", ".join(ARMS)})')
    sizes = {'none': [0], 'classic': list(config.classic.sizes)}.get(
        arm, list(config.synthetic.per_class) if arm in GAN_ARMS else [])
    for size in sizes:
      for seed in config.seeds:
        for fold in range(config.folds):
          runs.append((arm, int(size), int(seed), fold))
  return runs


def summarize(records: list[dict], classes, config) -> dict:
  """Returns the results.json content: one summary per arm (sized arms: best size + sweep) and
  paired accuracy tests of each arm against the arms before it (none, classic)."""
  arms = {}
  for arm in config.arms:
    mine = [r for r in records if r['arm'] == arm]
    sizes = sorted({r['size'] for r in mine})
    sweep = {str(s): evaluation.summarize([r for r in mine if r['size'] == s], classes)
             for s in sizes}
    best = max(sizes, key=lambda s: sweep[str(s)]['accuracy']['mean'])
    arms[arm] = dict(sweep[str(best)], size=best)
    if arm != 'none':
      arms[arm]['selection'] = ('size with the best mean test accuracy over the sweep '
                                '(as in the paper; optimistic)')
      arms[arm]['sweep'] = {s: {m: {'mean': v[m]['mean'], 'ci95': v[m]['ci95']}
                                for m in evaluation.SCALAR_METRICS} for s, v in sweep.items()}
  paired = {}
  for arm in config.arms:
    for ref in ('none', 'classic'):
      if arm != ref and ref in arms and ARMS.index(arm) > ARMS.index(ref):
        pick = lambda a: {(r['seed'], r['fold']): r['accuracy'] for r in records
                          if r['arm'] == a and r['size'] == arms[a]['size']}
        a_runs, r_runs = pick(arm), pick(ref)
        keys = sorted(set(a_runs) & set(r_runs))
        paired[f'{arm}_vs_{ref}'] = evaluation.paired_test([a_runs[k] for k in keys],
                                                           [r_runs[k] for k in keys])
  return {'classes': list(classes), 'arms': arms, 'paired_accuracy': paired}


def gan_fidelity(exp: Experiment, records: list[dict]) -> dict:
  """Returns {kind: ...}: how many of each GAN arm's synthetic images a classifier trained on real
  images only assigns to their intended class ("GAN-test", Shmelkov et al. 2018, ECCV: "How good
  is my GAN?"), beside the same classifier's sensitivity on the real test ROIs.

  The classifier of fold k is the classic run that the GAN arm's training sets are built on (size
  config.synthetic.classic_size, the first seed, fold k): trained without synthetic images. Its
  input is the fold's whole synthetic pool (max(synthetic.per_class) images per class). A class
  whose synthetic share is far below its real-test sensitivity has synthetic images that lack
  what the classifier recognises that class by (wrong-class or unrealistic lesions). A share near
  or above it does not prove realism: images can be recognisable yet too alike (see the
  diversity check). Empty without the classic arm at that size.
  """
  cfg = exp.config
  size, seed = int(cfg.synthetic.classic_size), int(cfg.seeds[0])
  if 'classic' not in cfg.arms or size not in [int(s) for s in cfg.classic.sizes]:
    return {}
  classes, k = list(exp.ds.classes), len(exp.ds.classes)
  real_cm = {r['fold']: np.asarray(r['confusion']) for r in records
             if (r['arm'], r['size'], r['seed']) == ('classic', size, seed)}
  kinds = [a for a in cfg.arms if a in GAN_ARMS]
  per_kind = {kind: [] for kind in kinds}
  for fold in range(cfg.folds):   # each classifier restored once, for every GAN arm
    if fold not in real_cm:
      continue
    name = run_name('classic', size, seed, fold)
    epoch, state = exp.load_classifier(name)
    if epoch is None:
      continue
    real_test = evaluation.metrics_from_confusion(real_cm[fold])['sensitivity']
    for kind in kinds:
      images, labels = exp.pool(kind, fold)
      preds = np.asarray(jnp.argmax(exp.predict_fn(state, images), -1))
      cm = evaluation.confusion_matrix(np.asarray(labels), preds, k)
      per_kind[kind].append({'fold': fold, 'classifier': name, 'synthetic_confusion': cm.tolist(),
                             'synthetic': evaluation.metrics_from_confusion(cm)['sensitivity'],
                             'real_test': real_test})
  out = {}
  for kind, folds in per_kind.items():
    if not folds:
      continue
    mean = lambda key, c: float(np.nanmean([f[key][c] for f in folds]))
    out[kind] = {
        'per_class': {name: {'synthetic': mean('synthetic', c), 'real_test': mean('real_test', c)}
                      for c, name in enumerate(classes)},
        'synthetic_confusion': np.sum([f['synthetic_confusion'] for f in folds], 0).tolist(),
        'folds': folds}
  return out


def train_and_evaluate(config, workdir: str) -> dict:
  """Runs the experiment the config describes in workdir and returns the results.json content."""
  # Everything that can be refused (data, folds, mesh, config) is checked before the first write.
  exp = Experiment(config, workdir)
  sw = exp.stopwatch
  wd.check_config(workdir, config.to_dict(), bool(config.get('overwrite', False)))
  ds = exp.ds
  for k, name in enumerate(ds.classes):   # what the classifier sees, to look at before trusting it
    grid.save_grid(os.path.join(workdir, 'figures', f'data_{name}.png'),
                   ds.images[ds.labels == k][:32], ncol=8, scale=2)
  logging.info('data %s: %d images, classes %s, counts %s, %d groups', ds.source, len(ds),
               ds.classes, ds.class_counts(), len(np.unique(ds.groups)))
  runs = plan(config)
  total = sum(np.prod(exp.schedule(arm, size, fold)) for arm, size, _, fold in runs)
  progress = tqdm.tqdm(total=int(total), desc=f'{len(runs)} classifier runs', unit='step',
                       disable=not config.get('progress', True), smoothing=0.05)
  done = {}
  for arm, size, seed, fold in runs:
    record = wd.read_json(os.path.join(workdir, 'runs', f'{run_name(arm, size, seed, fold)}.json'))
    if record is not None:
      done[(arm, size, seed, fold)] = record
      progress.update(int(np.prod(exp.schedule(arm, size, fold))))
  for (arm, size, seed), group in itertools.groupby(runs, key=lambda r: r[:3]):   # its folds
    todo = [fold for *_, fold in group if (arm, size, seed, fold) not in done]
    if config.train.get('vmap_folds', False) and len(todo) > 1:
      records = exp.run_folds(arm, size, seed, todo, progress)
    else:
      records = [exp.run(arm, size, seed, fold, progress) for fold in todo]
    done.update({(arm, size, seed, fold): r for fold, r in zip(todo, records)})
  records = [done[r] for r in runs]
  progress.close()
  with sw('report'):
    results = summarize(records, ds.classes, config)
    results['data'] = {'source': ds.source, 'n_images': len(ds), 'class_counts': ds.class_counts()}
    diversity = exp.gan_diversity()
    if diversity:
      results['gan_diversity'] = diversity
      results['collapsed_generators'] = sorted(f'{pool}/{c}' for pool, d in diversity.items()
                                               for c, v in d.items() if v['collapsed'])
    fidelity = gan_fidelity(exp, records)
    if fidelity:
      results['gan_fidelity'] = fidelity
    wd.write_json(os.path.join(workdir, 'results.json'), results)
    report.write(exp, results)   # every process: its t-SNE features are a sharded computation
    exp.writer.close()
  # Timing lives apart from results.json, which is a deterministic function of config and seeds.
  wd.write_json(os.path.join(workdir, 'timing.json'), sw.log())
  return results
