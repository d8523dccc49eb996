"""End-to-end pipeline: event inputs, stages, run record."""
