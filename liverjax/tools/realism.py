"""How close is the phantom's parenchyma to real CT? python -m liverjax.tools.realism
--volume=CT --mask=LABELS --liver_label=1 [--spacing=z,y,x] [--side_mm=24] [--version=2]
[--resample=area|point] [--out=F.json].

Cuts non-overlapping squares of side_mm that lie wholly inside the liver (mask == liver_label,
so lesions are excluded) from every axial slice of a CT volume, windowed W350/L40 to [0, 1];
renders as many squares of lesion-free parenchyma of the phantom's --version (its noise, or
--noise_hu; :func:`liverjax.datasets.phantom_parenchyma.parenchyma_patches`) brought to the CT's
own pixel spacing (area-averaged, or point-sampled for a volume subsampled without smoothing), so
texture is compared at matched spacing; and prints both sets' statistics and a
classifier's ROC AUC for telling them apart (:mod:`liverjax.evaluation.realism`). Groups for the
test: the real squares' slices. Writes the result as JSON with --out.
"""

from __future__ import annotations

import json

import numpy as np
from absl import flags

from liverjax.base import cli, errors
from liverjax.datasets import dataset, phantom, phantom_parenchyma, volumes
from liverjax.evaluation import realism

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string('volume', None, 'CT volume (NIfTI, DICOM folder, MRC, .npy) in HU.')
  flags.DEFINE_string('mask', None, 'Label volume of the same shape.')
  flags.DEFINE_integer('liver_label', 1, 'Mask value of liver parenchyma (lesions excluded).')
  flags.DEFINE_list('spacing', None, 'Voxel spacing z,y,x in mm where the files do not store it.')
  flags.DEFINE_float('side_mm', 24.0, 'Side of each square, in mm.')
  flags.DEFINE_enum('resample', 'area', ['area', 'point'], 'How the phantom comes to the CT\'s '
                    'spacing: area-averaged, or every k-th pixel (a volume subsampled without '
                    'smoothing).')
  flags.DEFINE_integer('version', 2, 'Phantom version (datasets/phantom.py VERSIONS).')
  flags.DEFINE_float('noise_hu', -1.0, 'The phantom\'s noise_hu (-1: the version\'s).')
  flags.DEFINE_integer('seed', 1, 'Phantom seed of the rendered parenchyma.')
  flags.DEFINE_string('out', '', 'Write the result to this JSON file.')


def liver_squares(volume: np.ndarray, mask: np.ndarray, liver_label: int, side_px: int):
  """Returns (squares (N, side_px, side_px) windowed to [0, 1], slice index of each): every cell
  of a side_px grid on each axial slice that lies wholly inside the liver."""
  out, slices = [], []
  for z in range(volume.shape[0]):
    liver = mask[z] == liver_label
    for y in range(0, volume.shape[1] - side_px + 1, side_px):
      for x in range(0, volume.shape[2] - side_px + 1, side_px):
        if liver[y:y + side_px, x:x + side_px].all():
          out.append(dataset.window_hu(volume[z, y:y + side_px, x:x + side_px]))
          slices.append(z)
  return np.asarray(out, np.float32).reshape(-1, side_px, side_px), np.asarray(slices)


def run(volume_path: str, mask_path: str, liver_label: int, spacing, side_mm: float,
        noise_hu: float, seed: int, version: int = 2, resample: str = 'area') -> dict:
  """Returns the comparison of the volume's liver squares with phantom parenchyma."""
  vol, vol_spacing = volumes.read_volume(volume_path)
  mask, _ = volumes.read_volume(mask_path)
  spacing = spacing or vol_spacing
  if spacing is None or min(spacing) <= 0:
    raise errors.DataError(f'{volume_path}: stores no voxel spacing; give --spacing=z,y,x')
  if mask.shape != vol.shape:
    raise errors.DataError(f'{mask_path}: shape {mask.shape}, the volume has {vol.shape}')
  pixel_mm = float(spacing[2])
  side_px = int(round(side_mm / pixel_mm))
  real, slices = liver_squares(vol, np.rint(mask).astype(int), liver_label, side_px)
  if len(real) < 10:
    raise errors.DataError(f'{mask_path}: only {len(real)} squares of {side_mm} mm lie wholly '
                           f'inside label {liver_label}; use a smaller --side_mm')
  pcfg = phantom.PhantomConfig(**phantom.settings({'version': version, 'noise_hu': noise_hu}))
  ph = phantom_parenchyma.parenchyma_patches(len(real), side_px * pixel_mm, pixel_mm, seed,
                                  pcfg, resample)
  out = realism.compare(real, ph, slices)
  out.update(pixel_mm=pixel_mm, side_px=side_px,
             phantom={'version': version, 'noise_hu': pcfg.noise_hu, 'seed': seed,
                      'resample': resample})
  return out


def main(argv):
  del argv
  spacing = tuple(float(v) for v in FLAGS.spacing) if FLAGS.spacing else None
  out = run(FLAGS.volume, FLAGS.mask, FLAGS.liver_label, spacing, FLAGS.side_mm,
            FLAGS.noise_hu, FLAGS.seed, FLAGS.version, FLAGS.resample)
  print(f'{out["real"]["n"]} squares of {out["side_px"]} px at {out["pixel_mm"]} mm')
  for name in ('real', 'other'):
    s = out[name]
    acf = ' / '.join(f'{v:.2f}' for v in s['autocorrelation'].values())
    print(f'{"CT" if name == "real" else "phantom":>8}: mean {s["mean"]:.3f} (SD {s["mean_sd"]:.3f})'
          f'  noise {s["noise_sd"]:.3f}  autocorrelation lag 1/2/3/5 {acf}'
          f'  saturated {100 * s["saturated"]:.1f}%')
  c = out['c2st']
  print(f'real vs phantom classifier: ROC AUC {c["auc"]:.2f} [{c["ci95"][0]:.2f}, '
        f'{c["ci95"][1]:.2f}] (0.5: indistinguishable)')
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      json.dump(out, f, indent=1)


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['volume', 'mask'])
  cli.run(main)
