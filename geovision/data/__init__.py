"""Training data: scenes (image + labels per task), chip datasets and augmentations."""
