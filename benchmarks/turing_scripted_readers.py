"""Two scripted readers take a visual Turing test of a GAN job in headless Chromium.

  python benchmarks/turing_scripted_readers.py --workdir=W [--n=10] [--out=FILE.json]

W is a GAN job trained on one fold (``--config.gan.fold=k``). Its config.json and samples.npz are
copied to a scratch workdir, where ``python -m liverjax.tools.turing create`` draws n real (fold
k's test ROIs) and n synthetic images per class and ``serve`` serves them; two readers answer at
the same time through the page, as a person would (keyboard shortcuts), then ``report`` computes
the statistics, written to FILE.json (default: benchmarks/turing_scripted_readers.json):

- ``texture``: a machine observer that looks only at the image it is shown. It calls an image
  synthetic when its noise (SD of horizontal pixel differences / sqrt 2) is below the 10th
  percentile of fold k's training ROIs' (the GAN's own training images), with a confidence that
  grows with the distance from that threshold, and names the class whose training ROIs' mean
  centre (16x16) intensity is nearest.
- ``guess``: answers at random (seeded): the statistics' chance level.

Needs Debian's chromium and chromium-driver and the test requirements (selenium).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.request

import numpy as np
from absl import app, flags
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import ml_collections  # noqa: E402

from liverjax.datasets import sources, splits  # noqa: E402
from liverjax.tools.turing import app as page  # noqa: E402
import turing_helpers as browser  # noqa: E402  (the tests' Chromium, server and scripted reader)

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A GAN job trained on one fold.')
flags.DEFINE_integer('n', 10, 'Real and synthetic images per class.')
flags.DEFINE_string('out', os.path.join(ROOT, 'benchmarks', 'turing_scripted_readers.json'),
                    'Where the statistics go.')


def noise(image: np.ndarray) -> float:
  return float(np.diff(image, axis=1).std() / np.sqrt(2))


def texture_reader(config: dict):
  """Returns choose(image) -> (synthetic, class name, confidence), fitted on the GAN's training
  ROIs only."""
  cfg = ml_collections.ConfigDict(config)
  ds = sources.load(cfg.data)
  folds = splits.experiment_folds(ds.labels, ds.groups, cfg.data, cfg.folds, cfg.split_seed)
  train = folds[int(cfg.gan.fold)][0]
  images, labels = ds.images[train][..., 0], ds.labels[train]
  threshold = np.percentile([noise(im) for im in images], 10)
  centres = [float(images[labels == c][:, 24:40, 24:40].mean()) for c in range(len(ds.classes))]

  def choose(image):
    n = noise(image)
    confidence = int(np.clip(1 + abs(n - threshold) / (0.1 * threshold), 1, 5))
    name = ds.classes[int(np.argmin([abs(image[24:40, 24:40].mean() - m) for m in centres]))]
    return n < threshold, name, confidence
  return choose, {'noise_threshold': float(threshold), 'centre_means': centres}


def main(argv):
  del argv
  config = json.load(open(os.path.join(FLAGS.workdir, 'config.json')))
  work = tempfile.mkdtemp(prefix='turing_')
  for name in ('config.json', 'samples.npz'):
    shutil.copy(os.path.join(FLAGS.workdir, name), work)
  proc = browser.command('create', f'--workdir={work}', f'--n_real={FLAGS.n}',
                          f'--n_synthetic={FLAGS.n}', '--readers=2')
  assert proc.returncode == 0, proc.stderr[-3000:]
  tokens = dict(l.split(': http://localhost:8765/r/') for l in proc.stdout.splitlines()
                if '/r/' in l)
  server = browser.Server(work, os.path.join(work, 'serve.log'))
  server.start()
  texture, fitted = texture_reader(config)
  rng = np.random.default_rng(0)
  classes = list(browser.KEYS)

  def looking(item):
    url = f'{server.base}/r/{tokens["reader1"]}/i/{item}.png'
    shown = np.asarray(Image.open(io.BytesIO(urllib.request.urlopen(url).read())), np.float64)
    return texture(shown[::page.SCALE, ::page.SCALE] / 255)

  guessing = lambda item: (bool(rng.integers(2)), classes[rng.integers(3)], int(rng.integers(1, 6)))

  def read(name, choose):
    driver = browser.browser()
    try:
      browser.read(driver, f'{server.base}/r/{tokens[name]}', choose)
    finally:
      driver.quit()

  threads = [threading.Thread(target=read, args=a) for a in
             (('reader1', looking), ('reader2', guessing))]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  server.kill()
  proc = browser.command('report', f'--workdir={work}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  stats = json.load(open(os.path.join(work, 'turing', 'turing.json')))
  stats['scripted_readers'] = {'reader1': dict(kind='texture', **fitted), 'reader2': 'guess'}
  stats['gan_job'] = FLAGS.workdir
  with open(FLAGS.out, 'w') as f:
    json.dump(stats, f, indent=1)
  print(open(os.path.join(work, 'turing', 'turing.md')).read())
  print(f'-> {FLAGS.out}')


if __name__ == '__main__':
  flags.mark_flag_as_required('workdir')
  app.run(main)
