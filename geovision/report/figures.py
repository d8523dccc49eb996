"""Headline numbers of a run, read from its ``run.json`` (never recomputed, so report and record agree)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geovision.errors import CorruptFileError, MissingFileError


@dataclass(frozen=True)
class Figure:
    """One headline number: ``value`` is exactly the run.json value at ``source`` (``None`` when absent)."""

    key: str
    label: str
    source: str  # dotted path inside run.json's "stages.<name>.figures", e.g. "vectorize.buildings_lost"
    value: float | None
    unit: str = ""
    scale: float = 1.0  # display value = value * scale (e.g. metres -> km)
    digits: int = 0
    low: float | None = None
    high: float | None = None
    note: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None

    def display(self) -> str:
        """The value as shown to a reader (scaled, rounded, with its unit)."""
        if self.value is None:
            return "n/a"
        text = format_number(self.value * self.scale, self.digits)
        return f"{text} {self.unit}".strip()

    def display_interval(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return (f"{format_number(self.low * self.scale, self.digits)}–"
                f"{format_number(self.high * self.scale, self.digits)}")


# key, label, source path, unit, scale, digits, (low, high) source paths
HEADLINES: tuple[tuple[str, str, str, str, float, int, tuple[str, str] | None], ...] = (
    ("buildings_lost", "Buildings lost", "vectorize.buildings_lost", "", 1.0, 0, None),
    ("buildings_before", "Buildings before the event", "vectorize.buildings_before", "", 1.0, 0, None),
    ("building_area_lost", "Building area lost", "vectorize.building_area_lost_m2", "m²", 1.0, 0, None),
    ("road_km_lost", "Road lost", "impact_roads.road_lost_m", "km", 1e-3, 2, None),
    ("road_km", "Road network before", "impact_roads.road_length_m", "km", 1e-3, 2, None),
    ("persons_impacted", "People in impacted cells", "impact_buildings.population.persons_impacted", "", 1.0, 0,
     ("impact_buildings.population.persons_impacted_low", "impact_buildings.population.persons_impacted_high")),
    ("persons_lost", "People in lost buildings", "impact_buildings.population.persons_lost", "", 1.0, 0,
     ("impact_buildings.population.persons_lost_low", "impact_buildings.population.persons_lost_high")),
    ("cells_impacted", "Impacted cells (buildings)", "impact_buildings.cells_impacted", "", 1.0, 0, None),
    ("road_cells_impacted", "Impacted cells (roads)", "impact_roads.cells_impacted", "", 1.0, 0, None),
    ("grid_f1", "Grid F1 against the reference", "evaluate.f1", "", 1.0, 3, None),
    ("reference_cells_impacted", "Impacted cells in the reference (ground truth)", "reference.cells_impacted", "",
     1.0, 0, None),
    ("reference_f1", "Reference grid F1 against the affected area", "reference.evaluation.at_theta.f1", "", 1.0, 3,
     None),
)


def read_run_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``run.json`` of a run folder."""
    path = Path(run_dir) / "run.json"
    if not path.exists():
        raise MissingFileError("no run record (run.json) in the folder", path=run_dir,
                               fix="run `geovision run EVENT --out FOLDER` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CorruptFileError(f"run record is not valid JSON ({error})", path=path,
                               fix="rerun `geovision run ... --overwrite`") from error


def lookup(record: dict[str, Any], source: str) -> Any:
    """The value at ``stage.key.subkey`` in the stages' figures of a run record (``None`` if absent)."""
    stage, *keys = source.split(".")
    value: Any = record.get("stages", {}).get(stage, {}).get("figures", {})
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def headline_figures(record: dict[str, Any]) -> list[Figure]:
    """Every headline number of the run (``value=None`` with a note where its stage did not produce it)."""
    figures = []
    for key, label, source, unit, scale, digits, bounds in HEADLINES:
        value = _number(lookup(record, source))
        low, high = (_number(lookup(record, bounds[0])), _number(lookup(record, bounds[1]))) if bounds else (None, None)
        stage = record.get("stages", {}).get(source.split(".")[0], {})
        note = "" if value is not None else (
            f"stage `{source.split('.')[0]}` {stage.get('status', 'not run')}"
            + (f": {stage['reason']}" if stage.get("reason") else ""))
        figures.append(Figure(key=key, label=label, source=source, value=value, unit=unit, scale=scale,
                              digits=digits, low=low, high=high, note=note))
    return figures


def format_number(value: float, digits: int = 0) -> str:
    """Thousands separators and a fixed number of decimals (``1,234.50``)."""
    return f"{value:,.{digits}f}"
