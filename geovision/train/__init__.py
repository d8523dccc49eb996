"""Supervised training: config, losses, metrics, optimiser/schedule, device/AMP, checkpoints, engine."""
