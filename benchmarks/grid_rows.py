"""Stacks the first row of several sample grids into one labelled figure, to compare generators
(or one model at several settings) on the same fixed noise.

  python benchmarks/grid_rows.py --out=benchmarks/diffusion_guidance.png --columns=6 \
      --row='cyst real=W1/samples/real_cyst.png' --row='cyst w=1=W1/samples/cyst.png' ...

Each --row is LABEL=PATH of a grid written by a generator job (``W/samples/<class>.png``,
--grid_columns tiles a row), read back into tiles by ``liverjax.base.grid.split_grid``; its first
--columns tiles are laid out again by ``make_grid`` at the grid's own scale. The figure is scaled
by --scale.
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from liverjax.base import grid as grid_lib   # noqa: E402

LABEL_W = 110


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--row', action='append', required=True, help='LABEL=PATH, in order')
  p.add_argument('--columns', type=int, default=6)
  p.add_argument('--grid_columns', type=int, default=8, help='tiles a row in the grids read')
  p.add_argument('--scale', type=float, default=0.6)
  p.add_argument('--out', required=True)
  args = p.parse_args()
  rows = []
  for spec in args.row:
    label, path = spec.rsplit('=', 1)
    grid = np.asarray(Image.open(path).convert('L'))
    tiles = grid_lib.split_grid(grid, args.grid_columns)
    scale = grid.shape[1] // grid_lib.make_grid(tiles, ncol=args.grid_columns).shape[1]
    strip = grid_lib.make_grid(tiles[:args.columns], ncol=args.columns, scale=scale)
    row = Image.new('L', (LABEL_W + strip.shape[1], strip.shape[0]), 255)
    row.paste(Image.fromarray(strip), (LABEL_W, 0))
    ImageDraw.Draw(row).text((6, strip.shape[0] // 2 - 6), label, fill=0)
    rows.append(row)
  out = Image.new('L', (rows[0].width, sum(r.height for r in rows)), 255)
  y = 0
  for r in rows:
    out.paste(r, (0, y))
    y += r.height
  out = out.resize((round(out.width * args.scale), round(out.height * args.scale)), Image.LANCZOS)
  out.save(args.out, optimize=True)
  print(f'wrote {args.out}: {len(rows)} rows of {args.columns}, {out.width}x{out.height}')


if __name__ == '__main__':
  main()
