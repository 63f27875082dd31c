"""Flax modules of the paper (classifier, DCGAN, ACGAN) and the layers they are built from."""
