#!/usr/bin/env bash
# The paper protocol's headline on one GPU: configs/dcgan_aug.py (no suffix: the paper's classifier,
# 150 epochs, and paper-width DCGANs, 70 epochs, per class and fold) at the paper's headline sizes
# only, fixed before the run (classic 5,000; classic 5,000 + 1,000 DCGAN images per class; the
# oracle `real`: classic 5,000 + 1,000 fresh phantom ROIs per class), 3 folds x 1 seed, on the
# phantom's default version. Not the paper's size sweep: no size is picked on test results.
#
#   bash benchmarks/paper_protocol_gpu.sh OUT_DIR
#
# Writes OUT_DIR/paper_headline.tgz (results.json, report.md, runs/, timing.json, figures/) and a
# log. Installs the CUDA build of JAX beforehand where pip can reach it; on a machine without a
# registry, JAX and the project's pure-Python wheels must already be there (PYTHONPATH).
set -uo pipefail
out=${1:?usage: bash benchmarks/paper_protocol_gpu.sh OUT_DIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 XLA_FLAGS=--xla_gpu_deterministic_ops=true
python3 - <<'EOF'
import jax, jaxlib, flax, optax
print('jax', jax.__version__, 'jaxlib', jaxlib.__version__, 'flax', flax.__version__,
      'optax', optax.__version__, jax.devices())
EOF
# A smoke run first: the same code path in seconds, so an API break shows before the long run.
python3 launch.py --config=configs/dcgan_aug.py:smoke --workdir=/tmp/smoke --config.progress=False \
  > "$out/smoke.log" 2>&1 || { tail -30 "$out/smoke.log"; exit 1; }
tail -4 "$out/smoke.log"
start=$(date +%s)
python3 launch.py --config=configs/dcgan_aug.py --workdir=/tmp/paper_headline \
  --config.arms="('none','classic','dcgan','real')" \
  --config.classic.sizes='(5000,)' --config.synthetic.classic_size=5000 \
  --config.synthetic.per_class='(1000,)' --config.oracle.rois_per_class=1000 \
  --config.model.conv_impl=xla --config.dcgan.conv_impl=patches \
  --config.train.checkpoint_every=50 --config.dcgan.checkpoint_every=35 \
  --config.progress=False > "$out/paper_headline.log" 2>&1
rc=$?
echo "exit $rc after $(( $(date +%s) - start )) s" | tee -a "$out/paper_headline.log"
tail -12 "$out/paper_headline.log"
(cd /tmp/paper_headline && tar czf "$out/paper_headline.tgz" --exclude=checkpoints --exclude=gan \
  --exclude=tensorboard --exclude=features . 2>/dev/null)
exit $rc
