"""Pairs an arm of one replicates benchmark with an arm of another run on the same replicates.

  python benchmarks/pair_benchmarks.py --a=DIR,DIR,... --b=DIR,DIR,... \\
      --compare=ARM_A:ARM_B[,...] [--out=PAIRS.json]

(for example benchmarks/benchmark_diffusion_long/README.md's not-declared rows).

Two benchmarks that share the phantom's cohorts and keys (configs/benchmark*.py at the same
sizes) run their common arms identically, so an arm of one and an arm of the other are paired
replicate by replicate, as the report pairs two arms of one benchmark (summary.paired_runs: the
paired t with the shared test cohort's variance, the sign-flip p, the MDE). Each --a and --b is a
comma-separated list of finished workdirs or parts (their runs/*.json; a run's `fold` is its
replicate). Refused, naming the run, unless every replicate compared has a run of another arm
(not one of the two compared) on both sides, and every such run is equal in every field: that
shows the same cohort, keys and CPU kind. Each --compare ARM_A:ARM_B takes each arm at its one
size. Comparisons made this way were not declared with either benchmark: say so beside them.
"""

import glob
import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from liverjax.base import workdir as wd  # noqa: E402
from liverjax.evaluation import inference  # noqa: E402
from liverjax.experiment import context, summary  # noqa: E402

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command's flags (here, not at import, so tests may import the module beside
  other benchmark scripts that define the same names)."""
  flags.DEFINE_list('a', None, 'Workdirs (or parts) of the first benchmark.', required=True)
  flags.DEFINE_list('b', None, 'Workdirs (or parts) of the second benchmark.', required=True)
  flags.DEFINE_list('compare', None, 'ARM_A:ARM_B pairs, ARM_A from --a.', required=True)
  flags.DEFINE_string('out', None, 'JSON to write the comparisons to (optional).')


def read_runs(dirs: list[str]) -> dict:
  """Returns {(arm, size, seed, replicate): run record} over the workdirs' runs/*.json."""
  out = {}
  for d in dirs:
    for path in sorted(glob.glob(context.record_path(d, '*'))):
      r = wd.read_json(path)
      out[(r['arm'], r['size'], r['seed'], r['fold'])] = r
  return out


def check_shared(a: dict, b: dict, replicates, compared=()) -> None:
  """Raises ValueError unless each replicate has a run of an arm not compared on both sides
  and all such runs agree."""
  for rep in replicates:
    common = sorted(k for k in set(a) & set(b) if k[3] == rep and k[0] not in compared)
    if not common:
      raise ValueError(f'replicate {rep}: no other arm ran on both sides, so nothing shows the '
                       'two share its cohort and keys')
    for k in common:
      if a[k] != b[k]:
        field = next(f for f in sorted(set(a[k]) | set(b[k])) if a[k].get(f) != b[k].get(f))
        raise ValueError(f'{k[0]}_n{k[1]}_seed{k[2]} replicate {rep} differs between the two '
                         f'(field {field!r}): not the same cohort, keys or CPU kind')


def compare(a: dict, b: dict, arm_a: str, arm_b: str) -> dict:
  """Returns summary.paired_runs of arm_a (from a) against arm_b (from b) over the replicates
  both ran, after check_shared on those replicates."""
  def only(runs, arm, side):
    sizes = {k[1] for k in runs if k[0] == arm}
    if len(sizes) != 1:
      raise ValueError(f'arm {arm} ({side}): sizes {sorted(sizes)}; pairing takes one size')
    return [dict(r, arm=f'{arm}@{side}') for k, r in runs.items() if k[0] == arm], sizes.pop()
  ra, size_a = only(a, arm_a, 'a')
  rb, size_b = only(b, arm_b, 'b')
  reps = sorted({r['fold'] for r in ra} & {r['fold'] for r in rb})
  check_shared(a, b, reps, (arm_a, arm_b))
  design = inference.Design.replicates(len(reps))
  res = summary.paired_runs([r for r in ra + rb if r['fold'] in reps], (f'{arm_a}@a', size_a),
                            (f'{arm_b}@b', size_b), design)
  return dict(res, a=arm_a, b=arm_b, replicates=reps)


def main(_):
  a, b = read_runs(FLAGS.a), read_runs(FLAGS.b)
  out = {}
  for pair in FLAGS.compare:
    arm_a, arm_b = pair.split(':')
    r = out[f'{arm_a}@a_vs_{arm_b}@b'] = compare(a, b, arm_a, arm_b)
    lo, hi = (100 * x for x in r['ci95'])
    print(f'{arm_a} (a) - {arm_b} (b): {100 * r["mean_diff"]:+.1f} points [{lo:+.1f}, {hi:+.1f}]'
          f' over replicates {r["replicates"]}, p (t) {r["p_ttest"]:.3g}, p (sign-flip) '
          f'{r["p_permutation"]:.3g}, smallest detectable {100 * r["mde"]:.1f}')
  if FLAGS.out:
    wd.write_json(FLAGS.out, out)


if __name__ == '__main__':
  define_flags()
  app.run(main)
