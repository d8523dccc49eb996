"""The options of ``geovision run`` (recorded in run.json; each stage declares the fields it reads)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """Options of a run (recorded in run.json; a change re-runs the stages that read it)."""

    model: str = "default"
    runtime: str = "auto"
    device: str = "auto"
    chip_px: int = 512
    overlap_px: int = 64
    batch_windows: int = 0  # 0 = auto (SegmentOptions.resolved)
    scheduler: str | None = None
    cell_px: int = 256
    tau: float = 0.5
    theta_buildings: float = 0.1
    theta_roads: float = 0.1
    tolerance_px: int = 2
    min_building_m2: float = 10.0
    adapt_minutes: float = 10.0  # time budget of the adapt stage (only with --adapt-with)
