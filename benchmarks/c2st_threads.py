"""The C2ST's OpenMP threads: liverjax's two-sample test (scikit-learn's gradient boosting, which
runs on OpenMP) timed alone and in two processes side by side, with OpenMP's default threads (one
a core) and with --threads.

  python benchmarks/c2st_threads.py [--threads=1] [--real=3400 --synthetic=1000 --dim=128] \
      [--calls=2] [--out=benchmarks/c2st_threads.json]

Each timing is one process running ``liverjax.evaluation.c2st.c2st`` --calls times on random
feature vectors of the benchmark's shape (a class's 3,400 test-cohort ROIs against 1,000
synthetic images, 128 features, two ROIs a patient), with ``c2st.OPENMP_THREADS`` set to the
setting timed; "pair" is two such processes started together on the same machine, as two
benchmark parts or a test run beside a job. Also checks that the AUCs are the same with either
setting. Writes JSON to --out.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def child(args) -> None:
  """Runs the C2ST --calls times and prints {'seconds', 'fold_aucs'} as JSON."""
  import numpy as np   # pylint: disable=import-outside-toplevel
  from liverjax.evaluation import c2st   # pylint: disable=import-outside-toplevel
  c2st.OPENMP_THREADS = args.threads or None
  rng = np.random.default_rng(0)
  real = rng.normal(size=(args.real, args.dim))
  synthetic = rng.normal(0.3, 1.0, size=(args.synthetic, args.dim))
  groups = np.arange(args.real) // 2
  t = time.perf_counter()
  for _ in range(args.calls):
    r = c2st.c2st(real, synthetic, groups)
  print(json.dumps({'seconds': time.perf_counter() - t, 'fold_aucs': r['fold_aucs']}))


def run(args, threads: int, processes: int) -> list[dict]:
  """Starts `processes` children together; returns their outputs."""
  cmd = [sys.executable, os.path.abspath(__file__), '--child', f'--threads={threads}',
         f'--real={args.real}', f'--synthetic={args.synthetic}', f'--dim={args.dim}',
         f'--calls={args.calls}']
  procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
  return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--threads', type=int, default=1, help='the setting timed beside the default')
  p.add_argument('--real', type=int, default=3400)
  p.add_argument('--synthetic', type=int, default=1000)
  p.add_argument('--dim', type=int, default=128)
  p.add_argument('--calls', type=int, default=2)
  p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
  p.add_argument('--out', default=os.path.join(ROOT, 'benchmarks', 'c2st_threads.json'))
  args = p.parse_args()
  if args.child:
    child(args)
    return
  rows, aucs = [], {}
  for threads in (0, args.threads):
    for processes in (1, 2):
      out = run(args, threads, processes)
      label = 'default' if threads == 0 else f'{threads} thread(s)'
      rows.append({'openmp_threads': label, 'processes': processes,
                   'seconds': [round(o['seconds'], 2) for o in out]})
      aucs[label] = out[0]['fold_aucs']
      print(f'{label:14s} {"alone" if processes == 1 else "pair ":6s}'
            + '  '.join(f'{o["seconds"]:6.1f} s' for o in out), flush=True)
  same = len({json.dumps(a) for a in aucs.values()}) == 1
  from liverjax.base import provenance   # pylint: disable=import-outside-toplevel
  print(f'fold AUCs the same with either setting: {same}')
  record = {'rows': rows, 'fold_aucs_equal': same, 'real': args.real,
            'synthetic': args.synthetic, 'dim': args.dim, 'calls': args.calls,
            'machine': {'platform': platform.platform(), 'cpu_count': os.cpu_count(),
                        'cpu': provenance.cpu()},
            'date': time.strftime('%Y-%m-%d %H:%M:%S')}
  with open(args.out, 'w') as f:
    json.dump(record, f, indent=2)
  print(f'wrote {args.out}')


if __name__ == '__main__':
  main()
