import json
import os
import re
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import (acgan_aug, all_aug, classic_aug, data_efficient_aug, dcgan_aug, learning_curve,
                     no_aug)
from liverjax import report
from liverjax.base import errors
from liverjax.base import mesh as mesh_lib
from liverjax.base import timing, workdir
from liverjax.datasets import phantom
from liverjax.evaluation import sample_checks
from liverjax.experiment import builders, classifier_job, context, gan_trainer, progress, runner
from liverjax.steps import gan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(*args):
  env = dict(os.environ, XLA_FLAGS='', JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, 'launch.py', *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600)


def _check_schema(results, arms, classes):
  assert results['classes'] == list(classes)
  assert set(results['arms']) == set(arms)
  for r in results['arms'].values():
    for m in ('accuracy', 'sensitivity_macro', 'specificity_macro', 'sensitivity_micro',
              'specificity_micro'):
      assert 0.0 <= r[m]['mean'] <= 1.0
      lo, hi = r[m]['ci95']
      assert lo <= r[m]['mean'] <= hi
      assert len(r[m]['per_fold']) == 3
    k = len(classes)
    assert len(r['confusion']) == k and all(len(row) == k for row in r['confusion'])


def test_launch_smoke_end_to_end_and_config_guard(tmp_path):
  work = str(tmp_path / 'w')
  proc = _launch('--config=configs/classic_aug.py:smoke', f'--workdir={work}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(work, 'results.json')))
  _check_schema(results, ('none', 'classic'), ('cyst', 'metastasis', 'hemangioma'))
  assert results['arms']['classic']['size'] == 64
  assert sum(map(sum, results['arms']['none']['confusion'])) == 36   # every ROI tested once
  for name in ('config.json', 'checkpoints', 'tensorboard', 'runs'):
    assert os.path.exists(os.path.join(work, name)), name
  assert any(f.startswith('events.out.tfevents') for f in os.listdir(os.path.join(work, 'tensorboard')))
  assert len(os.listdir(os.path.join(work, 'runs'))) == 6
  before = open(os.path.join(work, 'results.json')).read()

  # Same workdir, another config: refused with one line, nothing changed.
  proc = _launch('--config=configs/classic_aug.py:smoke', f'--workdir={work}',
                 '--config.train.learning_rate=0.5')
  assert proc.returncode == 2
  assert 'holds a run of another config' in proc.stderr and 'train' in proc.stderr
  assert open(os.path.join(work, 'results.json')).read() == before

  # Unknown config key: absl refuses it.
  proc = _launch('--config=configs/classic_aug.py:smoke', f'--workdir={work}', '--config.nope=1')
  assert proc.returncode != 0 and 'nope' in proc.stderr

  # Re-running the same config skips finished runs; a run whose record and checkpoints are gone
  # is trained again from scratch and reproduces results.json exactly.
  os.remove(os.path.join(work, 'runs', 'none_n0_seed0_fold1.json'))
  shutil.rmtree(os.path.join(work, 'checkpoints', 'none_n0_seed0_fold1'))
  proc = _launch('--config=configs/classic_aug.py:smoke', f'--workdir={work}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert os.listdir(os.path.join(work, 'checkpoints', 'none_n0_seed0_fold1'))   # retrained
  assert open(os.path.join(work, 'results.json')).read() == before


def test_an_easy_problem_is_learned_well_above_chance(tmp_path):
  """A phantom with strong contrast, little noise and no atypical lesions: the classic arm
  recognises nearly every test ROI (96% on a 2-core CPU; chance is 33%). A classifier that
  always answers one class, or never learns, fails this."""
  config = classic_aug.get_config('smoke')
  config.progress = False
  config.data.phantom.update(counts=(16, 16, 16), contrast=2.0, noise_hu=6.0, overlap=0.0,
                             variety=0.0)
  config.model.update(features=(8, 16, 16), dense=32)
  config.train.update(epochs=15, learning_rate=0.01)
  config.classic.sizes = (256,)
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  classic = results['arms']['classic']['accuracy']
  assert classic['mean'] > 0.8 and min(classic['per_fold']) > 0.6, classic
  assert results['arms']['none']['accuracy']['mean'] > 0.45
  fit = results['arms']['classic']['training_fit']
  assert fit['runs'] == 3 and fit['accuracy'] > 0.9, fit   # it fit its training set


def test_runs_that_never_fit_their_training_set_are_counted(tmp_path):
  """Learning rate 0: the classifier keeps its initial weights, so its last epoch's training
  accuracy is near chance (1/3) and every run is counted below the fit threshold."""
  config = no_aug.get_config('smoke')
  config.progress = False
  config.train.learning_rate = 0.0
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  fit = results['arms']['none']['training_fit']
  assert fit['runs'] == 3 and fit['below'] == 3 and fit['accuracy'] < 0.7, fit
  record = json.load(open(os.path.join(str(tmp_path), 'runs', 'none_n0_seed0_fold0.json')))
  assert set(record['final_train']) == {'loss', 'accuracy'}


def _runner(config, path) -> runner.Runner:
  return runner.Runner(context.build(config, str(path)))


class _Interrupt(Exception):
  pass


class _StopAfter:
  """A progress bar stand-in that interrupts the run after n updates."""

  def __init__(self, n):
    self.n = n

  def update(self, k):
    if k:
      self.n -= 1
      if self.n < 0:
        raise _Interrupt

  def set_postfix_str(self, s):
    pass


def test_interrupted_run_resumes_from_checkpoint_to_identical_result(tmp_path):
  config = no_aug.get_config('smoke')
  config.train.epochs = 3
  uninterrupted = _runner(config, str(tmp_path / 'a')).run(
      context.Run('none', 0, 0, 1), _StopAfter(100))
  exp = _runner(config, str(tmp_path / 'b'))
  with pytest.raises(_Interrupt):
    exp.run(context.Run('none', 0, 0, 1), _StopAfter(1))   # stops after epoch 2's checkpoint
  ckpts = os.listdir(tmp_path / 'b' / 'checkpoints' / 'none_n0_seed0_fold1')
  assert '2' in ckpts and '3' not in ckpts
  resumed = _runner(config, str(tmp_path / 'b')).run(
      context.Run('none', 0, 0, 1), _StopAfter(100))
  assert resumed == uninterrupted


def test_vmapped_folds_equal_fold_by_fold_and_resume(tmp_path):
  """config.train.vmap_folds trains a (arm, size, seed)'s folds as one vmapped program: the same
  records as fold by fold (each fold keeps its keys), its own checkpoints per fold, and an
  interrupted group resumes to the same result. Folds at different resume points run one by one."""
  config = classic_aug.get_config('smoke')
  config.train.epochs = 3
  config.progress = False
  config.train.vmap_folds = True
  one_by_one = _runner(config, str(tmp_path / 'a'))
  expected = [one_by_one.run(context.Run('classic', 64, 0, fold), _StopAfter(100))
              for fold in range(3)]
  exp = _runner(config, str(tmp_path / 'b'))
  with pytest.raises(_Interrupt):
    # stops after epoch 2's checkpoints
    exp.run_group([context.Run('classic', 64, 0, f) for f in range(3)], _StopAfter(1))
  for fold in range(3):
    ckpts = os.listdir(tmp_path / 'b' / 'checkpoints' / f'classic_n64_seed0_fold{fold}')
    assert '2' in ckpts and '3' not in ckpts
  exp = _runner(config, str(tmp_path / 'b'))
  folds = [context.Run('classic', 64, 0, f) for f in range(3)]
  assert exp.run_group(folds, _StopAfter(100)) == expected
  # fold 0 stopped at epoch 2 and folds 1, 2 fresh: they cannot share epochs, so one by one
  exp = _runner(config, str(tmp_path / 'c'))
  with pytest.raises(_Interrupt):
    exp.run(context.Run('classic', 64, 0, 0), _StopAfter(1))
  folds = [context.Run('classic', 64, 0, f) for f in range(3)]
  assert exp.run_group(folds, _StopAfter(100)) == expected
  # the whole experiment, vmapped: the same run records as fold by fold
  classifier_job.train_and_evaluate(config, str(tmp_path / 'd'))
  for record in expected:
    name = context.run_name('classic', 64, 0, record['fold'])
    assert workdir.read_json(str(tmp_path / 'd' / 'runs' / f'{name}.json')) == record


def test_configs_have_three_variants():
  for module in (no_aug, classic_aug, dcgan_aug, acgan_aug, all_aug, learning_curve,
                 data_efficient_aug):
    for arg in (None, 'quick', 'smoke'):
      c = module.get_config(arg)
      assert c.train.batch_size > 0 and c.folds == 3
    with pytest.raises(ValueError):
      module.get_config('nonsense')
  assert all_aug.get_config('quick').arms == ('none', 'classic', 'dcgan', 'acgan', 'real')
  quick = dcgan_aug.get_config('quick')
  assert quick.seeds == (0,) and quick.train.max_steps == 1200   # variants.QUICK_CLASSIFIER
  paper = classic_aug.get_config()
  assert paper.train.epochs == 150 and paper.train.learning_rate == 1e-3
  assert paper.train.batch_size == 64 and paper.train.nesterov


def test_plan_rejects_unknown_arm():
  c = no_aug.get_config('smoke')
  c.arms = ('none', 'gan?')
  with pytest.raises(ValueError, match='unknown arm'):
    context.plan(c)


def test_dcgan_aug_smoke_gans_never_see_test_images(tmp_path, monkeypatch):
  """End to end in-process; every image handed to a GAN's training set is a training-fold ROI."""
  seen = []
  original = gan_trainer.GANTrainer.training_set

  def spy(self, key, images, labels, diameter_px, classes):
    seen.append(np.asarray(images))
    return original(self, key, images, labels, diameter_px, classes)

  monkeypatch.setattr(gan_trainer.GANTrainer, 'training_set', spy)
  ends = []   # the job's one bar (classifier and GAN steps) ends at 100%: its plan was the job
  close = progress.JobProgress.close
  monkeypatch.setattr(progress.JobProgress, 'close',
                      lambda self: (ends.append((self.fraction, dict(self.weights))), close(self)))
  config = dcgan_aug.get_config('smoke')
  config.progress = False
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  assert len(ends) == 1 and ends[0][0] == pytest.approx(1.0, rel=1e-9)
  assert set(ends[0][1]) == {'classifier', 'dcgan'} and min(ends[0][1].values()) > 0
  report.write(str(tmp_path))
  _check_schema(results, ('none', 'classic', 'dcgan'), ('cyst', 'metastasis', 'hemangioma'))
  for name in ('results.json', 'report.md'):   # no bare nan: a missing figure says why
    assert not re.search(r'\bnan\b', (tmp_path / name).read_text(), re.IGNORECASE), name
  assert set(results['arms']['dcgan']['sweep']) == {'8', '16'}
  assert set(results['paired_accuracy']) == {'classic_vs_none', 'dcgan_vs_none',
                                             'dcgan_vs_classic'}
  for p in results['paired_accuracy'].values():   # 3 splits: the corrected t, an MDE, no flips
    assert p['n'] == 3 and 0 <= p['p_ttest'] <= 1 and p['mde'] > 0 and 'p_permutation' not in p
  assert results['design']['kind'] == 'cv' and results['design']['units'] == 3
  exp = _runner(config, str(tmp_path / 'x'))
  ds = exp.ctx.ds
  assert len(seen) == 3 * 3                      # 3 folds x one DCGAN per class
  for i, images in enumerate(seen):
    train_idx, test_idx = exp.ctx.folds[i // 3]
    flat = images.reshape(len(images), -1)
    test_flat = ds.images[test_idx].reshape(len(test_idx), -1)
    train_flat = ds.images[train_idx].reshape(len(train_idx), -1)
    dist_test = np.abs(flat[:, None] - test_flat[None]).max(-1).min(1)
    dist_train = np.abs(flat[:, None] - train_flat[None]).max(-1).min(1)
    assert dist_test.min() > 1e-6                # no test ROI was passed
    assert dist_train.max() == 0.0               # every passed ROI is a training ROI
  for name in ('report.md', 'report.html', 'figures/sweep_dcgan.png', 'figures/tsne.png',
               'figures/dcgan_fold0/cyst.png'):
    assert os.path.exists(tmp_path / name), name
  report_md = (tmp_path / 'report.md').read_text()
  assert '| dcgan |' in report_md
  # Two epochs of tiny GANs: near-constant samples, which must be flagged, not silently used.
  assert set(results['gan_diversity']) == {'dcgan_fold0', 'dcgan_fold1', 'dcgan_fold2'}
  for pool in results['gan_diversity'].values():
    for v in pool.values():
      assert v['collapsed'] == (v['ratio'] < v['threshold'])
      assert v['grid']['ratio'] >= 0               # smoke GANs' near-constant images: ~0
  assert 'grid vs real' in report_md
  flagged = sorted(f'{pool}/{c}' for pool, d in results['gan_diversity'].items()
                   for c, v in d.items() if v['collapsed'])
  assert results['collapsed_generators'] == flagged
  assert ('Warning: collapsed generator(s)' in report_md) == bool(flagged)
  # GAN-test: the fold's classic classifier (no synthetic images) on the fold's synthetic pool.
  fid = results['gan_fidelity']['dcgan']
  assert [f['fold'] for f in fid['folds']] == [0, 1, 2]
  for f in fid['folds']:
    assert f['classifier'] == f'classic_n64_seed0_fold{f["fold"]}'
    classic = json.loads((tmp_path / 'runs' / f'{f["classifier"]}.json').read_text())
    assert f['real_test'] == classic['sensitivity']
    assert np.sum(f['synthetic_confusion'], 1).tolist() == [16, 16, 16]   # max(per_class) each
  fold0 = fid['folds'][0]
  done = _runner(config, str(tmp_path))
  _, state = done.load_classifier('classic_n64_seed0_fold0')
  images, labels = done.sets.pool('dcgan', 0)          # restored from the GAN checkpoints
  logits = done.ctx.model.apply({'params': state.params, **state.model_state}, images)
  cm = np.zeros((3, 3), int)
  np.add.at(cm, (np.asarray(labels), np.asarray(logits).argmax(-1)), 1)
  assert cm.tolist() == fold0['synthetic_confusion']
  assert fid['per_class']['cyst']['synthetic'] == np.mean([f['synthetic'][0] for f in fid['folds']])
  assert 'GAN class fidelity' in report_md

  # Interrupt: lose a GAN-arm run and the last checkpoint of one fold's GAN; the re-run resumes
  # the GAN from its earlier checkpoint and reproduces results.json exactly.
  before = (tmp_path / 'results.json').read_text()
  os.remove(tmp_path / 'runs' / 'dcgan_n8_seed0_fold1.json')
  gan_ckpts = tmp_path / 'gan' / 'dcgan_fold1' / 'dcgan_metastasis' / 'checkpoints'
  steps = sorted(int(d) for d in os.listdir(gan_ckpts) if d.isdigit())
  assert steps
  shutil.rmtree(gan_ckpts / str(steps[-1]))
  config.estimate = False   # each step weighs 1: the fold's restored GAN steps count as much
  classifier_job.train_and_evaluate(config, str(tmp_path))
  assert (tmp_path / 'results.json').read_text() == before
  assert len(ends) == 2 and ends[1] == (pytest.approx(1.0, rel=1e-9),
                                        {'classifier': 1.0, 'dcgan': 1.0})


def test_nothing_recompiles_after_the_first_run_of_a_shape(tmp_path):
  """A second seed of the same (arm, size), or another fold, compiles nothing: no recompilation
  inside the epoch loop, the checkpointing or the evaluation (one per shape, at the first run).
  The folds hold 23, 24 and 25 training ROIs: padded to two batches of 16, they share a shape."""
  config = classic_aug.get_config('smoke')
  config.train.epochs = 3
  exp = _runner(config, str(tmp_path))
  assert sorted({len(train_idx) for train_idx, _ in exp.ctx.folds.values()}) == [23, 24, 25]
  for arm, size in (('none', 0), ('classic', 64)):
    with timing.CompileCounter() as first:
      exp.run(context.Run(arm, size, 0, 0), _StopAfter(100))
    assert first.count > 0                       # the counter sees compilations
    for seed, fold in ((1, 0), (0, 1), (0, 2)):
      with timing.CompileCounter() as counter:
        record = exp.run(context.Run(arm, size, seed, fold), _StopAfter(100))
      assert counter.count == 0, f'{arm} seed {seed} fold {fold}: {counter.count} compilations'
      if arm == 'none':
        assert record['n_train'] == len(exp.ctx.folds[fold][0])


def test_collapsed_generator_is_detected():
  rng = np.random.default_rng(0)
  real = rng.uniform(size=(40, 64, 64, 1)).astype(np.float32)
  collapsed = np.repeat(real[:1], 40, 0) + rng.normal(0, 1e-3, (40, 64, 64, 1))
  assert sample_checks.diversity_check(collapsed, real, 0.5)['collapsed']
  assert not sample_checks.diversity_check(real[::-1].copy(), real, 0.5)['collapsed']


def test_a_generator_built_to_collapse_is_flagged(tmp_path, caplog):
  """train_and_sample on a generator whose samples are one image (plus noise) per class: each
  class is flagged collapsed, with a warning, and only those classes."""
  config = dcgan_aug.get_config('smoke')
  ds = phantom.load_phantom(config.data.phantom.counts)
  mesh = mesh_lib.make_mesh(1)
  setup = builders.make_gan_setup(config.dcgan, 3)
  trainer = gan_trainer.GANTrainer(setup, config.dcgan, mesh, workdir.ScalarWriter(str(tmp_path)))
  trainer.fit = lambda *args, **kw: gan.init_state(setup, jax.random.key(0))   # no training
  real = {'image': ds.images, 'label': ds.labels, 'diameter_px': ds.diameter_px}
  rng = np.random.default_rng(0)

  def sample_fn(g, key, n, label):   # cysts: one image; the other classes: real ROIs
    pool = ds.images[ds.labels == label]
    if label == 0:
      return np.clip(np.repeat(pool[:1], n, 0) + rng.normal(0, 1e-3, (n, 64, 64, 1)), 0, 1)
    return pool[rng.integers(0, len(pool), n)]

  trainer.sample_fn = sample_fn

  class Progress:
    def update(self, n): pass
    def set_postfix_str(self, s): pass

  with caplog.at_level('WARNING'):
    _, _, checks = gan_trainer.train_and_sample(trainer, real, ds.classes, jax.random.key(1),
                                                str(tmp_path / 'g'), Progress(), 16)
  assert [checks[c]['collapsed'] for c in ds.classes] == [True, False, False]
  assert 'generator looks collapsed for class cyst' in caplog.text
  assert 'class metastasis' not in caplog.text


def test_acgan_arm_end_to_end(tmp_path):
  """The ACGAN arm through the experiment on the phantom: trained per fold, mixed in, checked."""
  config = acgan_aug.get_config('smoke')
  config.progress = False
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  _check_schema(results, ('none', 'classic', 'acgan'), ('cyst', 'metastasis', 'hemangioma'))
  assert set(results['arms']['acgan']['sweep']) == {'8', '16'}
  assert set(results['gan_diversity']) == {'acgan_fold0', 'acgan_fold1', 'acgan_fold2'}
  fid = results['gan_fidelity']['acgan']
  assert [f['fold'] for f in fid['folds']] == [0, 1, 2]
  for f in fid['folds']:   # the whole pool of each fold, max(per_class) images per class
    assert np.sum(f['synthetic_confusion'], 1).tolist() == [16, 16, 16]
  for fold in range(3):
    assert os.listdir(tmp_path / 'gan' / f'acgan_fold{fold}' / 'acgan' / 'checkpoints')
  record = workdir.read_json(str(tmp_path / 'runs' / 'acgan_n16_seed0_fold0.json'))
  assert record['n_train'] == config.synthetic.classic_size + 3 * 16


def test_oracle_arm_adds_fresh_phantom_rois(tmp_path):
  """Arm 'real': the classic set plus, per class, classic variants of fresh phantom ROIs from new
  patients, one pool per fold shared by seeds and sizes; refused on data that is not the phantom."""
  config = classic_aug.get_config('smoke')
  config.progress = False
  config.arms = ('none', 'classic', 'real')
  config.synthetic.classic_size = 64
  config.synthetic.per_class = (8, 16)
  config.oracle.rois_per_class = 12
  r = _runner(config, tmp_path / 'w')
  record = r.run(context.Run('real', 16, 0, 1), _StopAfter(100))
  assert record['n_train'] == 64 + 3 * 16
  images, labels = (np.asarray(a) for a in r.sets.pool('real', 1))
  assert np.bincount(labels).tolist() == [16, 16, 16] and images.shape == (48, 64, 64, 1)
  data = r.ctx.ds.images.reshape(len(r.ctx.ds), -1)
  nearest = np.abs(images.reshape(48, 1, -1) - data[None]).max(-1).min(1)
  assert nearest.min() > 1e-3                     # none is an ROI of the data set
  other = np.asarray(r.sets.pool('real', 2)[0])
  assert not np.array_equal(images, other)        # each fold its own fresh patients
  assert r.sets.pool('real', 1)[0] is r.sets.pool('real', 1)[0]   # built once per fold
  results = classifier_job.train_and_evaluate(config, str(tmp_path / 'all'))
  assert set(results['paired_accuracy']) == {'classic_vs_none', 'real_vs_none', 'real_vs_classic'}
  config.data.source, config.data.path = 'npz', str(tmp_path / 'x.npz')
  with pytest.raises(errors.ConfigError, match='real arm draws fresh phantom ROIs'):
    context.build(config, str(tmp_path / 'npz'))


def test_online_classic_augmentation_changes_training(tmp_path):
  """config.classic.online: a fresh random variant of every batch. The same run with it trains
  to other weights than without it, and without it twice to the same ones."""
  config = classic_aug.get_config('smoke')
  config.progress = False
  run = context.Run('classic', 64, 0, 0)
  params = []
  for name, online in (('a', False), ('b', False), ('c', True)):
    config.classic.online = online
    r = _runner(config, tmp_path / name)
    r.run(run, _StopAfter(100))
    params.append(jax.device_get(r.load_classifier(run.name)[1].params))
  same = jax.tree.leaves(jax.tree.map(np.array_equal, params[0], params[1]))
  online_same = jax.tree.leaves(jax.tree.map(np.array_equal, params[0], params[2]))
  assert all(same) and not any(online_same)


def test_grid_check_sees_a_checkerboard():
  real = phantom.load_phantom(counts=(8, 8, 8)).images
  yy, xx = np.mgrid[:64, :64]
  checker = 0.03 * ((-1.0) ** (yy + xx) + (-1.0) ** (yy // 2))[None, :, :, None]
  clean = sample_checks.grid_check(real[::-1].copy(), real)
  gridded = sample_checks.grid_check(np.clip(real + checker, 0, 1), real)
  assert 0.5 < clean['ratio'] < 2.0
  assert gridded['ratio'] > 5.0
