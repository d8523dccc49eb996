"""The defaults of the analysis, in one place (the CLI, RunConfig and the library functions read them)."""

from __future__ import annotations

CELL_PX = 256  # DII grid cell side in pixels (128 m at 0.5 m)
THETA = 0.1  # a cell with DII >= THETA is impacted
TAU = 0.5  # a pixel with probability >= TAU is a feature
TOLERANCE_PX = 2  # a feature pixel counts as lost only if nothing is within this many pixels after the event
MIN_BUILDING_M2 = 10.0  # smaller building polygons are dropped
CHIP_PX = 512  # side of the windows the model sees
OVERLAP_PX = 64  # overlap of neighbouring windows (each keeps its centre crop)
BATCH_WINDOWS = 0  # windows per model batch; 0 = auto (1 on the CPU, 8 on a GPU)
ADAPT_MINUTES = 10.0  # time budget of `geovision adapt` / `run --adapt-with` (CPU minutes)
MODEL = "default"  # the shipped model bundle `geovision run` and `segment` use
POP_WEIGHTING = "pixel"  # persons spread evenly over building pixels ("area": by their area in m²)
POP_INTERVAL = "model"  # bootstrap interval of the persons affected ("none": no interval)
LOST_CLASSES = ("destroyed", "major-damage")  # damage classes of a building lost in the ground truth (xBD's)
