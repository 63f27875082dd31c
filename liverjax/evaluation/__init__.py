"""The statistics and metrics the experiment computes: classification metrics with intervals and
paired tests, checks of generated samples, distances between feature samples. Pure functions
(NumPy, SciPy, JAX); no model, no training."""
