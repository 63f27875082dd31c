"""Stacks the first row of several sample grids into one labelled figure, to compare generators
(or one model at several settings) on the same fixed noise.

  python benchmarks/grid_rows.py --out=benchmarks/diffusion_guidance.png --columns=6 \
      --row='cyst real=W1/samples/real_cyst.png' --row='cyst w=1=W1/samples/cyst.png' ...

Each --row is LABEL=PATH of a grid written by a generator job (``W/samples/<class>.png``: 64x64
tiles, --grid_columns a row, a 2-pixel pad, the whole scaled by a whole factor, as
``liverjax.base.grid.make_grid`` writes them); the first --columns tiles of its first row are
kept. The figure is scaled by --scale.
"""

import argparse

from PIL import Image, ImageDraw

TILE, PAD, LABEL_W = 64, 2, 110


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
    grid = Image.open(path).convert('L')
    scale, rest = divmod(grid.width, args.grid_columns * (TILE + PAD) + PAD)
    if rest or not scale:
      raise ValueError(f'{path}: {grid.width} px wide is not a grid of {args.grid_columns} tiles')
    cell, pad = scale * (TILE + PAD), scale * PAD
    width = pad + args.columns * cell
    row = Image.new('L', (LABEL_W + width, cell + pad), 255)
    row.paste(grid.crop((0, 0, width, cell + pad)), (LABEL_W, 0))
    ImageDraw.Draw(row).text((6, cell // 2 - 6), label, fill=0)
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
