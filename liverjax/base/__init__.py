"""Foundations every stage uses: errors, the device mesh, workdir files, checkpoints, timing."""
