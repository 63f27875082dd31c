"""Data sets: the Dataset every stage works on, its sources (phantom, ROI files, TFDS, CT volumes
with lesion masks) and the grouped cross-validation folds."""
