"""The statistics and metrics the experiment computes: classification metrics with intervals and
paired tests, and checks of generated samples. NumPy and SciPy only; no model, no training."""
