"""Each arm's accuracy per replicate of a benchmark workdir, replicates as paired lines.

  python benchmarks/benchmark_figure.py --workdir=benchmarks/benchmark --out=FIG.png

Reads WORKDIR/runs/*.json (configs/benchmark.py: a run's `fold` is its replicate) and draws one
line per replicate through its arms' accuracies on the shared test cohort, with each arm's mean.
"""

import collections
import glob
import json
import os

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from absl import app, flags

flags.DEFINE_string('workdir', None, 'A finished (or merged) benchmark workdir.', required=True)
flags.DEFINE_string('out', None, 'The PNG to write.', required=True)
FLAGS = flags.FLAGS
ORDER = ('none', 'classic', 'dcgan', 'acgan', 'data_efficient', 'diffusion', 'real')


def main(_):
  acc = collections.defaultdict(dict)   # replicate -> arm -> accuracy
  for path in glob.glob(os.path.join(FLAGS.workdir, 'runs', '*.json')):
    with open(path) as f:
      r = json.load(f)
    acc[r['fold']][r['arm']] = 100 * r['accuracy']
  arms = [a for a in ORDER if any(a in v for v in acc.values())]
  arms += sorted({a for v in acc.values() for a in v} - set(arms))
  fig, ax = plt.subplots(figsize=(6, 4.2))
  for rep in sorted(acc):
    xs = [i for i, a in enumerate(arms) if a in acc[rep]]
    ax.plot(xs, [acc[rep][arms[i]] for i in xs], '-o', color='0.6', lw=1, ms=3)
  means = [sum(v[a] for v in acc.values() if a in v) / sum(a in v for v in acc.values())
           for a in arms]
  ax.plot(range(len(arms)), means, '_', color='C3', ms=28, mew=2.5, label='mean')
  ax.set_xticks(range(len(arms)), arms)
  ax.set_ylabel('accuracy on the test cohort (%)')
  ax.set_title(f'{len(acc)} replicates, one line each (paired)')
  ax.grid(axis='y', alpha=0.3)
  ax.legend(loc='lower right')
  fig.tight_layout()
  fig.savefig(FLAGS.out, dpi=120)
  print(f'wrote {FLAGS.out}: {len(acc)} replicates, arms {", ".join(arms)}')


if __name__ == '__main__':
  app.run(main)
