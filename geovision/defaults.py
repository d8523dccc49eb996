"""The defaults of the analysis, in one place (the CLI, RunOptions and the library functions read them)."""

from __future__ import annotations

CELL_PX = 256  # DII grid cell side in pixels (128 m at 0.5 m)
THETA = 0.1  # a cell with DII >= THETA is impacted
TAU = 0.5  # a pixel with probability >= TAU is a feature
TOLERANCE_PX = 2  # a feature pixel counts as lost only if nothing is within this many pixels after the event
MIN_BUILDING_M2 = 10.0  # smaller building polygons are dropped
