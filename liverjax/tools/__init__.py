"""Commands around finished jobs and input data: samples of a GAN job, the class fidelity of a
phantom GAN job, CT volumes to ROIs. Each runs as ``python -m liverjax.tools.<name>``."""
