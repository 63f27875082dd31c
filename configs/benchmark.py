"""The benchmark: independent replicates on the phantom, the project's answer with power.

  python launch.py --config=configs/benchmark.py:quick --workdir=workdirs/bench_part0 \
      --config.replicates.first=0 --config.replicates.count=4
  python -m liverjax.tools.merge --workdir=workdirs/bench workdirs/bench_part*

Replicate r draws a fresh training cohort of the paper's regime (35 / 43 / 43 cysts, metastases,
hemangiomas: a fold's training part of the paper's 182 lesions, new patients), and every arm of
that replicate trains on it alone: none, classic, dcgan (its DCGANs trained on that cohort) and
real (the oracle, its fresh ROIs drawn per replicate). Every run is tested on one test cohort of
10,200 ROIs from other patients, drawn once; its sampling error enters the paired intervals
(liverjax.evaluation.inference.shared_test_variance). Seeds and keys (liverjax/datasets/
cohorts.py): cohort r from phantom seed 50000 + r, the test cohort 60000, the oracle's ROIs
70000 + r, classifier runs from seed 9001 folded with (r, size), GANs from 9002 folded with r: none
shared with the main job (phantom seeds 0 and 1, oracle 3000 + fold, classifier seed 0, GAN seed
0) or between replicates.

One size per arm, declared here (no selection on test results): `:quick` classic 1,000 images,
dcgan and real + 1,000 per class (the paper's protocol: classic 5,000). The primary comparison
is dcgan - classic (config.primary); the others are secondary. Paired differences over
replicates: paired t interval and sign-flip p, each with its minimum detectable difference.

Parts: a workdir runs replicates [first, first + count); parts run in separate processes or on
several hosts and `tools.merge` joins them, refusing parts of different configs or commits.
Replicates 1000 and up are the pilot's (`--config.replicates.first=1000`), kept apart from the
reported ones (0 and up).

Variants:
- `:quick` = QUICK_CLASSIFIER + AUG_QUICK, DCGANs at GAN_QUICK['dcgan'] + AUG_QUICK_GAN (the main
  job's `:quick` budgets), replicates.count = REPLICATES = 6 (frozen from a pilot: planned MDE
  of dcgan - classic 5 points; docs/decisions/benchmark_replicates.md). 62 minutes for the 6 on
  a 2-core AMD EPYC with AVX-512, run as parts (`--config.replicates.first=0
  --config.replicates.count=3` and `first=3`). Result (benchmarks/benchmark/): dcgan - classic
  -0.9 points [-3.1, +1.3], could detect 3.0; real - classic +7.3 [+5.4, +9.1].
- `:smoke` = SMOKE + AUG_SMOKE, GAN_SMOKE, 2 replicates of 8 ROIs per class tested on 30: for
  tests.
- no suffix: the paper's budgets (for a GPU).
"""

import ml_collections

from configs import common

# The frozen replicate count of the reported benchmark: chosen with tools.power on the pilot
# (replicates 1000-1002; docs/decisions/benchmark_replicates.md); never changed after seeing
# reported replicates.
REPLICATES = 6


def get_config(arg=None):
  return replicates_experiment(('dcgan',), arg)


def replicates_experiment(kinds: tuple[str, ...], arg=None):
  """Returns the benchmark with generator arms `kinds` between classic and real: the same
  cohorts, seeds, sizes and replicates whatever the arms (configs/benchmark_diffusion.py)."""
  c = common.aug_experiment(kinds, arg)
  c.arms = ('none', 'classic') + tuple(kinds) + ('real',)
  c.design = 'replicates'
  c.primary = f'{kinds[-1]}_vs_classic'
  c.seeds = (9001,)
  c.synthetic.gan_seed = 9002
  c.oracle.seed_offset = 70000
  c.replicates = ml_collections.ConfigDict()
  c.replicates.first = 0
  c.replicates.count = REPLICATES
  c.replicates.train_counts = (35, 43, 43)
  c.replicates.test_per_class = 3400
  if arg is None:   # the paper's headline sizes, one each (`:quick`: AUG_QUICK's 1,000 and 1,000)
    c.classic.sizes = (5000,)
    c.synthetic.classic_size = 5000
    c.synthetic.per_class = (1000,)
  elif arg == 'smoke':
    c.replicates.count = 2
    c.replicates.train_counts = (8, 8, 8)
    c.replicates.test_per_class = 10
    c.synthetic.per_class = (16,)
  return c
