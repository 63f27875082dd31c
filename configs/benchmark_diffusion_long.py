"""The benchmark with a diffusion model trained for its config's whole 200 epochs: does a
diffusion model near real ROIs by the quality tools help the classifier?

  python launch.py --config=configs/benchmark_diffusion_long.py:quick \\
      --workdir=workdirs/bdiff_long_part0 --config.replicates.first=0 --config.replicates.count=1
  python -m liverjax.tools.merge --workdir=workdirs/bdiff_long workdirs/bdiff_long_part*

configs/benchmark_diffusion.py's replicates, cohorts, keys and sizes with arms none, classic,
diffusion and real (no dcgan: its runs are in benchmarks/benchmark_diffusion/), and at `:quick`
the diffusion model without DIFFUSION_QUICK's cap of 480 training steps: its 200 epochs, about
4,800 steps, ten times the frozen arm's training. Declared before any replicate ran, from the
training-length study on phantom seed 1 (docs/decisions/diffusion_budget.md, "Does training
length raise copying?": at 4,800 steps the C2ST tells samples from new ROIs no better than it
tells real ROIs apart). Not the frozen arm: it costs about ten times the issue's budget (about
75 minutes a replicate alone on a 2-core AMD EPYC with AVX-512), so it runs one replicate a part.
The primary comparison is diffusion - classic; the oracle's share is secondary. The none,
classic and real runs use the same keys as configs/benchmark.py's, so on the same CPU they
repeat that benchmark's to every digit. Variants as configs/benchmark.py's (`:smoke` and the
paper's variant train the diffusion model as configs/benchmark_diffusion.py does). Its six
replicates, merged: benchmarks/benchmark_diffusion_long/.
"""

from configs import benchmark


def get_config(arg=None):
  c = benchmark.replicates_experiment(('diffusion',), arg)
  if arg == 'quick':
    c.diffusion.max_steps = 0   # no cap: the config's epochs (200)
  return c
