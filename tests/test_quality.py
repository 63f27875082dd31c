"""Synthetic-image quality beside its real reference, on samples with known answers."""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from liverjax.evaluation import memorisation, quality


def _blobs(rng, n, size=24):
  """Smooth random images (N, size, size): each a sum of 3 Gaussian blobs at random places."""
  yy, xx = np.mgrid[:size, :size]
  out = np.zeros((n, size, size), np.float32)
  for i in range(n):
    for _ in range(3):
      cy, cx, s = rng.uniform(4, size - 4), rng.uniform(4, size - 4), rng.uniform(2, 5)
      out[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
  return out


def _quality(train_f, test_f, syn_f, train_px, test_px, syn_px):
  return quality.class_quality(train_f, test_f, syn_f, train_px, test_px, syn_px,
                               jax.random.key(0), subsets=10, max_shift=2)


def test_a_generator_that_samples_the_data_scores_like_new_real_rois():
  """Train, test and synthetic drawn from one distribution: each synthetic figure lies near its
  real reference (within the spread a sample of the test set's size gives), about 5% are
  'memorised', and a classifier cannot tell them from real (its interval holds 0.5)."""
  rng = np.random.default_rng(0)
  f = lambda n: rng.normal(size=(n, 8)).astype(np.float32)
  out = _quality(f(60), f(20), f(200), _blobs(rng, 60), _blobs(rng, 20), _blobs(rng, 200))
  assert abs(out['kid']['synthetic']['mean']) < 0.1 and abs(out['kid']['real']) < 0.1
  for m in ('precision', 'recall', 'coverage'):
    # a 20-sample proportion: binomial SD <= 0.11; 3 SDs + the subsets' spread
    assert abs(out[m]['synthetic']['mean'] - out[m]['real']) < 0.35, (m, out[m])
  assert out['memorisation']['pixels']['synthetic'] < 0.2, out['memorisation']
  assert out['memorisation']['features']['synthetic'] < 0.2, out['memorisation']
  lo, hi = out['c2st']['synthetic']['ci95']
  assert lo <= 0.5 <= hi, out['c2st']
  assert out['n'] == {'train': 60, 'test': 20, 'synthetic': 200, 'subsets': 10}


def test_copies_of_training_rois_are_flagged_as_memorised():
  """Flipped, turned and shifted training ROIs: every one is closer to a training ROI than
  nearly all new real ROIs are, in pixels; copies of training features in features."""
  rng = np.random.default_rng(1)
  train_px, test_px = _blobs(rng, 40), _blobs(rng, 20)
  pick = rng.integers(0, 40, 60)
  syn_px = np.stack([np.roll(memorisation.dihedral(train_px[i])[i % 8], (i % 3 - 1, 1), (0, 1))
                     for i in pick])
  train_f = rng.normal(size=(40, 8)).astype(np.float32)
  syn_f = train_f[pick] + 1e-3 * rng.normal(size=(60, 8)).astype(np.float32)
  out = _quality(train_f, rng.normal(size=(20, 8)), syn_f, train_px, test_px, syn_px)
  assert out['memorisation']['pixels']['synthetic'] == 1.0, out['memorisation']
  assert out['memorisation']['features']['synthetic'] == 1.0
  assert out['precision']['synthetic']['mean'] == 1.0


def test_a_collapsed_generator_loses_recall_and_coverage_and_is_told_apart():
  rng = np.random.default_rng(2)
  f = lambda n: rng.normal(size=(n, 8)).astype(np.float32)
  one = f(1) + 0.01 * f(100)   # every image nearly the same
  px = _blobs(rng, 100)
  out = _quality(f(60), f(20), one, _blobs(rng, 60), _blobs(rng, 20), px)
  assert out['recall']['synthetic']['mean'] < 0.2 < out['recall']['real']
  assert out['coverage']['synthetic']['mean'] < 0.2 < out['coverage']['real']
  assert out['c2st']['synthetic']['auc'] > 0.9 and out['c2st']['real']['auc'] < 0.8
  assert out['kid']['synthetic']['mean'] > 10 * max(out['kid']['real'], 0.01)


def test_every_pool_is_judged_beside_real_data_in_an_experiment(tmp_path):
  """The oracle pool (classic variants of fresh phantom ROIs) through the whole path: per fold
  and class, beside the same real reference; never copies of training ROIs."""
  from configs import all_aug
  from liverjax.experiment import classifier_job
  from liverjax.report import quality as quality_report
  config = all_aug.get_config('smoke')
  config.progress = False
  config.arms = ('none', 'classic', 'real')
  config.data.phantom.counts = (24, 24, 24)
  config.synthetic.per_class = (8, 16)
  results = classifier_job.train_and_evaluate(config, str(tmp_path))
  q = results['synthetic_quality']['real']
  assert [f['fold'] for f in q['folds']] == [0, 1, 2]
  for fold in q['folds']:
    assert fold['classifier'] == f'classic_n64_seed0_fold{fold["fold"]}'
    for cname, m in fold['per_class'].items():
      assert m['n']['synthetic'] == 16 and m['n']['test'] > 5, (cname, m['n'])
      assert m['memorisation']['pixels']['synthetic'] <= 0.5, m['memorisation']
      assert 0.0 <= m['c2st']['synthetic']['auc'] <= 1.0
  assert set(q['per_class']) == {'cyst', 'metastasis', 'hemangioma'}
  assert 'oracle_share' not in results   # no GAN arm to share the oracle's gain
  text = '\n'.join(quality_report.synthetic_quality(results))
  assert text.count('\n| real | ') == 3

  # The tool recomputes it from the workdir alone (pools rebuilt from their seeds)
  from liverjax.tools import quality as quality_tool
  path = os.path.join(str(tmp_path), 'results.json')
  saved = json.load(open(path))
  del saved['synthetic_quality']
  json.dump(saved, open(path, 'w'))
  again = quality_tool.judge(str(tmp_path))['synthetic_quality']['real']
  for f0, f1 in zip(q['folds'], again['folds']):
    for cname in f0['per_class']:
      a, b = f0['per_class'][cname], f1['per_class'][cname]
      assert a['memorisation'] == b['memorisation'] and a['n'] == b['n']
      np.testing.assert_allclose(a['fd']['synthetic']['mean'], b['fd']['synthetic']['mean'],
                                 rtol=1e-4)
  text = open(os.path.join(str(tmp_path), 'report.md')).read()
  assert 'Synthetic image quality' in text and '](figures/closest_real.png)' in text
  assert os.path.getsize(os.path.join(str(tmp_path), 'figures', 'closest_real.png')) > 1000
  assert '](figures/prdc.png)' in text and '](figures/c2st_roc.png)' in text
  assert os.path.getsize(os.path.join(str(tmp_path), 'figures', 'c2st_roc.png')) > 1000
  assert os.path.getsize(os.path.join(str(tmp_path), 'figures', 'prdc.png')) > 1000
  # Without fold 0's reference classifier the first fold judged is fold 1: the closest pairs
  # are drawn from it and the caption names it.
  shutil.rmtree(os.path.join(str(tmp_path), 'checkpoints', 'classic_n64_seed0_fold0'))
  os.remove(os.path.join(str(tmp_path), 'figures', 'closest_real.png'))
  again = quality_tool.judge(str(tmp_path))['synthetic_quality']['real']
  assert [f['fold'] for f in again['folds']] == [1, 2]
  assert os.path.getsize(os.path.join(str(tmp_path), 'figures', 'closest_real.png')) > 1000
  assert '**real**, fold 1:' in open(os.path.join(str(tmp_path), 'report.md')).read()


def test_a_gan_job_on_a_fold_is_judged_against_that_folds_test_rois(tmp_path):
  """The tool's GAN-job mode: a feature classifier trained on the fold's training ROIs, the
  samples against the fold's test ROIs. Samples that copy training ROIs score 100% memorised;
  fresh phantom ROIs (new patients) do not. Samples that are the fold's test ROIs get a GAN-test
  share equal to the classifier's test sensitivity, class by class. A job trained on all data
  gets only what needs no held-out ROIs."""
  from configs import dcgan
  from liverjax.datasets import phantom, splits
  from liverjax.experiment import gan_job
  from liverjax.tools import gan_quality, quality as quality_tool
  config = dcgan.get_config('smoke')
  config.progress = False
  config.data.phantom.counts = (24, 24, 24)
  config.gan.fold = 0
  work = str(tmp_path / 'job')
  gan_job.run(config, work)
  ds = phantom.load_phantom(config.data.phantom.counts)
  train_idx, test_idx = splits.experiment_folds(ds.labels, ds.groups, config.data, config.folds,
                                                config.split_seed)[0]
  fresh = phantom.load_phantom((16, 16, 16), seed=77)
  copies = np.concatenate([train_idx[ds.labels[train_idx] == c][:16] for c in range(3)])
  judged = {}
  for name, images, labels in [('copies', ds.images[copies], ds.labels[copies]),
                               ('fresh', fresh.images, fresh.labels),
                               ('test', ds.images[test_idx], ds.labels[test_idx])]:
    np.savez(os.path.join(tmp_path, f'{name}.npz'), images=images, labels=labels,
             classes=np.asarray(ds.classes))
    if name == 'fresh':   # a user's own images, judged against the same fold
      user = str(tmp_path / 'user')
      quality_tool.import_samples(str(tmp_path / 'fresh.npz'), config, user)
      out = gan_quality.judge_gan_job(user, classic_size=64, steps=20)
      judged[name] = out['synthetic_quality']['samples']['folds'][0]['per_class']
      continue
    os.replace(os.path.join(tmp_path, f'{name}.npz'), os.path.join(work, 'samples.npz'))
    out = gan_quality.judge_gan_job(work, classic_size=64, steps=20)
    assert out['fold'] == 0 and out['classifier']['run'] == 'classic_n64_seed0_fold0'
    judged[name] = out['synthetic_quality']['dcgan']['folds'][0]['per_class']
  # TSTR on the samples (here the fold's test ROIs, up to 16 per class) beside TRTR, as many
  # images and steps
  n_tstr = 3 * np.bincount(ds.labels[test_idx]).min()
  t = out['tstr']
  assert t['tstr']['n_train'] == t['trtr']['n_train'] == n_tstr
  assert t['tstr']['steps'] == t['trtr']['steps'] <= 20
  assert t['tstr']['n_test'] == len(test_idx) and t['tstr']['run'].startswith('tstr_dcgan_n')
  assert t['trtr']['ci95'][0] <= t['trtr']['mean'] <= t['trtr']['ci95'][1]
  # Other samples of the same counts: TSTR trains again (its records depend on the samples)
  record = os.path.join(work, 'quality', 'tstr', 'runs', f'{t["tstr"]["run"]}.json')
  before = os.stat(record).st_mtime_ns
  np.savez(os.path.join(work, 'samples.npz'), images=ds.images[test_idx][::-1],
           labels=ds.labels[test_idx][::-1], classes=np.asarray(ds.classes))
  gan_quality.judge_gan_job(work, classic_size=64, steps=20)
  assert os.stat(record).st_mtime_ns > before
  # Wiring only: this tiny classifier predicts nearly one class, so the counting itself is
  # checked by test_gan_test_counts_what_the_classifier_assigns_to_each_class.
  for c, (cname, v) in enumerate(out['gan_fidelity']['dcgan']['per_class'].items()):
    # One image per class may flip at a near-tie of the logits: the test ROIs are predicted in
    # another batch than in the classifier's own evaluation.
    assert abs(v['synthetic'] - v['real_test']) <= 1 / np.sum(ds.labels[test_idx] == c) + 1e-9
  assert sum(map(sum, out['gan_fidelity']['dcgan']['synthetic_confusion'])) == len(test_idx)
  for cname in ds.classes:
    copied, new = judged['copies'][cname], judged['fresh'][cname]
    assert copied['n']['test'] > 5 and copied['n']['synthetic'] == 16
    assert copied['memorisation']['pixels']['synthetic'] == 1.0
    assert new['memorisation']['pixels']['synthetic'] <= 0.5
  text = open(os.path.join(work, 'quality.md')).read()
  assert '| dcgan | cyst |' in text and 'GAN-test' in text and '| TSTR (dcgan) |' in text
  assert os.path.getsize(os.path.join(work, 'figures', 'closest.png')) > 1000
  # Trained on all data: no held-out reference, only nearest-training distances. The test ROIs
  # are among all data (distance 0 up to float32 rounding); fresh ROIs differ at least by their
  # CT noise (SD ~0.03 in [0, 1]).
  cfg = json.load(open(os.path.join(work, 'config.json')))
  cfg['gan']['fold'] = -1
  json.dump(cfg, open(os.path.join(work, 'config.json'), 'w'))
  os.remove(os.path.join(work, 'figures', 'closest.png'))
  near = gan_quality.judge_gan_job(work)['nearest_train']
  assert os.path.getsize(os.path.join(work, 'figures', 'closest.png')) > 1000
  assert set(near) == set(ds.classes) and all(v['nearest_train_median'] < 0.01
                                               for v in near.values())
  np.savez(os.path.join(work, 'samples.npz'), images=fresh.images, labels=fresh.labels,
           classes=np.asarray(ds.classes))
  near = gan_quality.judge_gan_job(work)['nearest_train']
  assert all(v['nearest_train_min'] > 0.01 and v['n'] == 16 for v in near.values())
  assert 'No real ROIs were held out' in open(os.path.join(work, 'quality.md')).read()


def test_the_gan_job_tools_tstr_trains_on_the_samples_only_and_trtr_on_real_rois(tmp_path):
  """TSTR's training set: 8 of the given samples per class and nothing else; TRTR's: as many
  classic variants of the fold's real training ROIs, none of them a sample."""
  from configs import dcgan
  from liverjax.experiment import context, runner
  from liverjax.tools import gan_quality
  config = dcgan.get_config('smoke')
  config.gan.fold = 1
  c = gan_quality.feature_classifier_config(config.to_dict(), 64, 20, 0.01, tstr_per_class=8)
  assert tuple(c.arms) == ('dcgan', 'tstr_dcgan', 'trtr')
  exp = runner.Runner(context.build(c, str(tmp_path)))
  samples = np.repeat(np.linspace(0.05, 0.95, 30, dtype=np.float32), 64 * 64).reshape(
      30, 64, 64, 1)   # image i: constant; no real ROI is
  labels = np.arange(30) % 3
  exp.sets.use_pool('dcgan', 1, samples, labels)
  for arm, from_samples in (('tstr_dcgan', True), ('trtr', False)):
    run = context.Run(arm, 8, 0, 1)
    train_set, n = exp.sets.build(run, run.key)
    images, got = np.asarray(train_set['image']), np.asarray(train_set['label'])
    assert n == len(got) == 24   # TRTR: classic variants, in the real ROIs' class shares
    flat = images.reshape(24, -1)
    constant = np.ptp(flat, 1) == 0
    assert constant.all() == from_samples and constant.any() == from_samples
    if from_samples:
      i = np.abs(flat[:, :1] - samples.reshape(30, -1)[None, :, 0]).argmin(1)
      np.testing.assert_array_equal(got, labels[i])
      assert len(set(i.tolist())) == 24 and np.bincount(got).tolist() == [8, 8, 8]


def test_a_users_samples_are_checked_against_the_real_data(tmp_path):
  """A user's samples.npz: refused with a reason when its classes, image size, labels or range
  do not fit the real data; written as a GAN job's workdir when they do."""
  from configs import dcgan
  from liverjax.base import errors
  from liverjax.tools import quality as quality_tool
  config = dcgan.get_config('smoke')
  images, labels = np.full((6, 64, 64), 0.5, np.float32), np.arange(6) % 3
  classes = np.asarray(['cyst', 'metastasis', 'hemangioma'])
  for bad, why in [(dict(classes=classes[::-1]), 'classes'),
                   (dict(images=images[:, :32, :32]), 'images'),
                   (dict(labels=labels + 1), 'labels outside'),
                   (dict(images=images * 3), 'outside \\[0, 1\\]')]:
    np.savez(tmp_path / 'bad.npz', **dict(dict(images=images, labels=labels, classes=classes),
                                          **bad))
    with pytest.raises(errors.DataError, match=why):
      quality_tool.import_samples(str(tmp_path / 'bad.npz'), config, str(tmp_path / 'w'))
  np.savez(tmp_path / 'ok.npz', images=images, labels=labels, classes=classes)
  quality_tool.import_samples(str(tmp_path / 'ok.npz'), config, str(tmp_path / 'w'))
  written = json.load(open(tmp_path / 'w' / 'config.json'))
  assert written['job'] == 'gan' and written['gan']['imported'].endswith('ok.npz')
  with np.load(tmp_path / 'w' / 'samples.npz') as z:
    assert z['images'].shape == (6, 64, 64, 1) and z['labels'].tolist() == labels.tolist()


def test_a_gan_jobs_tables_name_its_data_efficient_options():
  """The paper's DCGAN is 'dcgan'; the data-efficient preset names each option it turns on."""
  from configs import common
  from liverjax.tools import gan_quality
  assert gan_quality.pool_label(common.arm_gan_config('dcgan').to_dict()) == 'dcgan'
  label = gan_quality.pool_label(common.arm_gan_config('dcgan_de').to_dict())
  assert label.startswith('dcgan + augment=') and 'r1=1' in label and 'd_norm=layer' in label


def test_gan_test_counts_what_the_classifier_assigns_to_each_class():
  """GAN-test with a stand-in classifier that reads its answer off each image: per class, the
  share of its samples predicted as that class, the confusion, and the real reference from the
  run's test confusion."""
  import types
  from liverjax.tools import gan_quality
  images = np.zeros((6, 4, 4, 1), np.float32)
  images[:, 0, 0, 0] = [0, 1, 2, 0, 1, 1]          # the class the stand-in predicts
  labels = np.array([0, 1, 2, 1, 1, 0])
  predict = lambda state, x: jax.nn.one_hot(x[:, 0, 0, 0].astype(np.int32), 3)
  ctx = types.SimpleNamespace(programs=types.SimpleNamespace(predict=predict), num_classes=3,
                              ds=types.SimpleNamespace(classes=('a', 'b', 'c')))
  record = {'confusion': [[2, 0, 0], [1, 1, 0], [0, 0, 4]]}
  out = gan_quality.gan_test(ctx, None, images, labels, record, 0, 'run')
  assert out['synthetic_confusion'] == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
  got = {c: (v['synthetic'], v['real_test']) for c, v in out['per_class'].items()}
  assert got == {'a': (0.5, 1.0), 'b': (2 / 3, 0.5), 'c': (1.0, 1.0)}
  assert out['folds'][0]['classifier'] == 'run'
