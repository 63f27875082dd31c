"""Judges synthetic images beside real data: python -m liverjax.tools.quality --workdir=W.

A classifier experiment: rebuilds each fold's pools from the workdir (GAN checkpoints are
restored, not retrained; the oracle's fresh ROIs are drawn again from their seeds), computes
``synthetic_quality`` and ``oracle_share`` (:mod:`liverjax.experiment.synthetic_quality`), writes
them into results.json and rebuilds the report; for a workdir run with
``--config.synthetic.quality=False``, or one written before these checks existed.

A GAN job trained on one fold's training ROIs (``--config.gan.fold=k``): judges its
``samples.npz`` against that fold's real test ROIs (:mod:`liverjax.tools.gan_quality`): the
synthetic-quality figures, GAN-test and TSTR beside their real references, from classifiers it
trains on the fold's training ROIs in W/quality/ (``--classic_size`` variants, ``--steps`` SGD
steps at ``--learning_rate``, the ``:quick`` budget by default; ``--tstr_per_class=0``: no
TSTR). Writes W/quality.json, W/quality.md and W/figures/closest.png. A GAN job trained on all
data (``gan.fold=-1``) has no held-out real ROIs: the tool says so and writes only what needs
none (nearest-training distances and closest pairs).

A user's own images: ``--samples=S.npz --config=configs/dcgan.py:quick --config.gan.fold=k
--workdir=W`` with the config's data options naming their real ROIs (``--config.data.source=
folder --config.data.path=...``): S.npz holds ``images`` (N, H, W[, 1]) in [0, 1] at the data's
size, ``labels`` (N,) and ``classes`` (the data's class names, in its order). W receives the
config and the samples, then is judged as a GAN job trained on fold k (-1: on all the data).
"""

from __future__ import annotations

import glob
import os

import ml_collections
import numpy as np
from absl import flags
from ml_collections import config_flags

from liverjax import report
from liverjax.base import cli, errors, workdir as wd
from liverjax.datasets import sources
from liverjax.experiment import context, summary, synthetic_quality
from liverjax.experiment.runner import Runner
from liverjax.tools import gan_quality

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'Workdir of a finished classifier experiment or GAN job; '
                      'with --samples, where they are judged (new, or one judged before).')
  flags.DEFINE_integer('classic_size', 1000, 'GAN job: classic variants the feature '
                       'classifier trains on.')
  flags.DEFINE_integer('steps', gan_quality.QUICK_STEPS, 'GAN job: the feature classifier\'s '
                       '(and TSTR\'s, TRTR\'s) SGD steps.')
  flags.DEFINE_float('learning_rate', 0.01, 'GAN job: their learning rate.')
  flags.DEFINE_integer('tstr_per_class', 1000, 'GAN job: TSTR trains on this many samples per '
                       'class (at most what samples.npz has); 0: no TSTR.')
  flags.DEFINE_string('samples', None, 'A samples.npz of your own (images, labels, classes) to '
                      'judge against the real ROIs of --config\'s data; written into --workdir.')
  config_flags.DEFINE_config_file('config', None, 'With --samples: a GAN job config '
                                  '(configs/dcgan.py:quick) naming the real data and gan.fold.')


def judge(workdir: str) -> dict:
  """Adds synthetic_quality and oracle_share to a finished experiment's results.json; returns
  the updated results."""
  config_dict, results = (wd.read_json(os.path.join(workdir, n))
                          for n in ('config.json', 'results.json'))
  if config_dict is None or results is None:
    raise errors.WorkdirError(f'{workdir}: no config.json and results.json (is it a finished '
                              'classifier experiment?)')
  if config_dict.get('job', 'classifier') != 'classifier':
    raise errors.WorkdirError(f'{workdir}: a {config_dict["job"]} job; this judges the pools of '
                              'a classifier experiment (an experiment with GAN arms)')
  config = ml_collections.ConfigDict(config_dict)
  config.progress = False
  runner = Runner(context.build(config, workdir))
  records = [wd.read_json(p) for p in sorted(glob.glob(context.record_path(workdir, '*')))]
  share = summary.oracle_share(records, config, runner.ctx.design)
  if share:
    results['oracle_share'] = share
  results['synthetic_quality'] = synthetic_quality.synthetic_quality(runner)
  wd.write_json(os.path.join(workdir, 'results.json'), results)
  report.write(workdir)
  return results


def import_samples(samples: str, config, workdir: str) -> None:
  """Makes workdir a GAN job's workdir for a user's own samples.npz: config (a GAN job config;
  its data are the real ROIs, gan.fold the fold they were made from, -1 all) as config.json
  with gan.imported set, the checked samples as samples.npz."""
  ds = sources.load(config.data)
  try:
    with np.load(samples) as z:
      images, labels, classes = z['images'], z['labels'], [str(c) for c in z['classes']]
  except (OSError, KeyError, ValueError) as e:
    raise errors.DataError(f'{samples}: not an .npz with images, labels and classes ({e})')
  if images.ndim == 3:
    images = images[..., None]
  problems = [f'classes {classes}, the data\'s {list(ds.classes)}' if classes != list(
      ds.classes) else '',
              f'images {images.shape[1:]}, the data\'s {ds.images.shape[1:]}' if images.shape[
                  1:] != ds.images.shape[1:] else '',
              f'{len(labels)} labels for {len(images)} images' if len(labels) != len(images)
              else '',
              'labels outside 0..classes - 1' if len(labels) and (
                  labels.min() < 0 or labels.max() >= len(classes)) else '',
              'images outside [0, 1]' if images.size and (
                  images.min() < 0 or images.max() > 1) else '']
  if any(problems):
    raise errors.DataError(f'{samples}: ' + '; '.join(p for p in problems if p))
  c = ml_collections.ConfigDict(config.to_dict())
  c.gan.imported = os.path.abspath(samples)
  wd.check_config(workdir, c.to_dict(), False)
  wd.write_npz(os.path.join(workdir, 'samples.npz'), images=images.astype(np.float32),
               labels=labels.astype(np.int32), classes=np.asarray(classes))


def main(argv):
  del argv
  with wd.locked(FLAGS.workdir):   # the one writer of this workdir
    _main()


def _main():
  if FLAGS.samples:
    if FLAGS.config is None or FLAGS.config.get('job') != 'gan':
      raise errors.ConfigError('--samples needs --config, a GAN job config naming the real '
                               'data (configs/dcgan.py:quick --config.gan.fold=k)')
    import_samples(FLAGS.samples, FLAGS.config, FLAGS.workdir)
  config = wd.read_json(os.path.join(FLAGS.workdir, 'config.json')) or {}
  if config.get('job') == 'gan':
    out = gan_quality.judge_gan_job(FLAGS.workdir, FLAGS.classic_size, FLAGS.steps,
                                    FLAGS.learning_rate, FLAGS.tstr_per_class)
    print(('judged samples.npz' if out['fold'] >= 0 else 'trained on all data, no real ROIs '
           'held out: nearest-training distances only') + f': {FLAGS.workdir}/quality.md')
    return
  results = judge(FLAGS.workdir)
  pools = ', '.join(results['synthetic_quality']) or 'none (no classic run to take features from)'
  print(f'judged pools: {pools}; {FLAGS.workdir}/results.json and report.md updated')


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  cli.run(main)
