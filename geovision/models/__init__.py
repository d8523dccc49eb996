"""Models: shared-backbone multi-task segmenter, encoders, offline ImageNet weights, bundles."""
