"""Writes samples of a trained GAN job: python -m liverjax.tools.sample --workdir=W --n=1000
--out=DIR.

DIR receives samples.npz (images (N, 64, 64, 1) in [0, 1], labels, classes) and one PNG grid per
class (the first 64 samples). The generator is the latest checkpoint of each GAN in W.
"""

import os

import jax
import numpy as np
from absl import flags

from liverjax.base import cli, grid, workdir as wd
from liverjax.experiment import gan_job, gan_trainer

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command's flags (only when run as a command, so importing generate() from
  another program with its own --workdir flag does not clash)."""
  flags.DEFINE_string('workdir', None, 'Workdir of a finished dcgan, acgan or diffusion job.')
  flags.DEFINE_integer('n', 1000, 'Images per class.')
  flags.DEFINE_integer('seed', 0, 'Sampling seed.')
  flags.DEFINE_string('out', None, 'Output folder (default: WORKDIR/generated).')


def generate(workdir: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
  """Returns (images (n*K, 64, 64, 1) in [0, 1], labels, classes) from a GAN job's checkpoints."""
  setup, generators, classes = gan_job.load_generator(workdir)
  steps = gan_trainer.steps_of(setup)
  sample = jax.jit(lambda g, k, label: steps.sample(setup, g, k, n, label))
  images, labels = [], []
  for name, cls in gan_trainer.model_names(setup.kind, classes):
    for c in cls:
      images.append(np.asarray(sample(generators[name], jax.random.fold_in(jax.random.key(seed),
                                                                           c), c)))
      labels.append(np.full(n, c, np.int32))
  return np.concatenate(images), np.concatenate(labels), classes


def main(argv):
  del argv
  with wd.locked(FLAGS.workdir):   # the one writer of this workdir
    _main()


def _main():
  out = FLAGS.out or os.path.join(FLAGS.workdir, 'generated')
  images, labels, classes = generate(FLAGS.workdir, FLAGS.n, FLAGS.seed)
  os.makedirs(out, exist_ok=True)
  gan_job.write_samples(os.path.join(out, 'samples.npz'), images, labels, classes)
  for c, name in enumerate(classes):
    grid.save_grid(os.path.join(out, f'{name}.png'), images[labels == c][:64], ncol=8, scale=2)
  print(f'{len(images)} images -> {out}')


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('workdir')
  cli.run(main)
