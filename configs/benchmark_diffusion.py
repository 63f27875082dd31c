"""The benchmark with the diffusion arm: configs/benchmark.py's replicates, cohorts, seeds and
sizes, with arm diffusion (one class-conditional EDM model per replicate, trained on that
replicate's cohort alone) between dcgan and real.

  python launch.py --config=configs/benchmark_diffusion.py:quick --workdir=workdirs/bdiff_part0 \\
      --config.replicates.first=0 --config.replicates.count=1
  python -m liverjax.tools.merge --workdir=workdirs/bdiff workdirs/bdiff_part*

The primary comparison is diffusion - classic (declared here, before any replicate ran);
diffusion - dcgan and the oracle's share are secondary. The arms none, classic, dcgan and real
use configs/benchmark.py's keys, so on the same CPU their runs repeat that benchmark's. Variants
as configs/benchmark.py's; `:quick` trains each diffusion model at DIFFUSION_QUICK
(configs/variants.py), which costs 2.4 times a replicate's DCGANs on a 2-core AMD EPYC with
AVX-512.
"""

from configs import benchmark


def get_config(arg=None):
  return benchmark.replicates_experiment(('dcgan', 'diffusion'), arg)
