"""The train-step benchmark as a package: a timing harness, the PyTorch twins of liverjax's
models, and one module per kind of entry (classifier, GAN). benchmarks/run.py is its command."""
