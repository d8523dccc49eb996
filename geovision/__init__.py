"""geovision: disaster impact from before/after satellite imagery."""

__version__ = "0.1.0"
