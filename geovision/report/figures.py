"""Headline numbers of a run, read from its ``run.json`` (never recomputed, so report and record agree)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


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
    headline: bool = True  # False: a model check, shown in the report's checks table, not as a card
    definition: str = ""

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
        return (
            f"{format_number(self.low * self.scale, self.digits)}–{format_number(self.high * self.scale, self.digits)}"
        )


# key, label, source path, unit, scale, digits, (low, high) source paths, headline?, definition
HEADLINES: tuple[tuple[str, str, str, str, float, int, tuple[str, str] | None, bool, str], ...] = (
    (
        "buildings_lost",
        "Buildings lost",
        "vectorize.buildings_lost",
        "",
        1.0,
        0,
        None,
        True,
        "footprints detected before the event of which less than half is detected after",
    ),
    (
        "buildings_before",
        "Buildings before the event",
        "vectorize.buildings_before",
        "",
        1.0,
        0,
        None,
        True,
        "footprints detected in the pre-event image",
    ),
    (
        "building_area_lost",
        "Building area lost",
        "vectorize.building_area_lost_m2",
        "m²",
        1.0,
        0,
        None,
        True,
        "footprint area of the lost buildings",
    ),
    (
        "road_km_lost",
        "Road lost",
        "impact_roads.road_lost_m",
        "km",
        1e-3,
        2,
        None,
        True,
        "length of road centre line detected before and missing after",
    ),
    (
        "road_km",
        "Road network before",
        "impact_roads.road_length_m",
        "km",
        1e-3,
        2,
        None,
        True,
        "length of road centre line detected before the event",
    ),
    (
        "persons_impacted",
        "People in impacted cells",
        "impact_buildings.population.persons_impacted",
        "",
        1.0,
        0,
        ("impact_buildings.population.persons_impacted_low", "impact_buildings.population.persons_impacted_high"),
        True,
        "census population spread over the detected buildings, summed over the impacted cells",
    ),
    (
        "persons_lost",
        "People in lost buildings",
        "impact_buildings.population.persons_lost",
        "",
        1.0,
        0,
        ("impact_buildings.population.persons_lost_low", "impact_buildings.population.persons_lost_high"),
        True,
        "census population of the buildings detected as lost",
    ),
    (
        "cells_impacted",
        "Impacted cells (buildings)",
        "impact_buildings.cells_impacted",
        "",
        1.0,
        0,
        None,
        True,
        "grid cells whose buildings DII is at least θ",
    ),
    (
        "road_cells_impacted",
        "Impacted cells (roads)",
        "impact_roads.cells_impacted",
        "",
        1.0,
        0,
        None,
        True,
        "grid cells whose roads DII is at least θ",
    ),
    (
        "truth_f1",
        "Grid F1 against the true affected area",
        "impact_buildings.evaluation.at_theta.f1",
        "",
        1.0,
        3,
        None,
        True,
        "agreement of the predicted impacted cells with the cells inside the surveyed affected area (1 = perfect)",
    ),
    (
        "grid_f1",
        "Grid F1 against the reference grid",
        "evaluate.f1",
        "",
        1.0,
        3,
        None,
        False,
        "predicted impacted cells against those of the ground-truth masks",
    ),
    (
        "reference_cells_impacted",
        "Impacted cells in the reference (ground truth)",
        "reference.cells_impacted",
        "",
        1.0,
        0,
        None,
        False,
        "cells whose DII of the ground-truth masks is at least θ",
    ),
    (
        "reference_f1",
        "Reference grid F1 against the affected area",
        "reference.evaluation.at_theta.f1",
        "",
        1.0,
        3,
        None,
        False,
        "how well the DII of perfect masks finds the affected area: the best this grid can do",
    ),
)


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
    for key, label, source, unit, scale, digits, bounds, headline, definition in HEADLINES:
        value = _number(lookup(record, source))
        low, high = (_number(lookup(record, bounds[0])), _number(lookup(record, bounds[1]))) if bounds else (None, None)
        stage = record.get("stages", {}).get(source.split(".")[0], {})
        note = (
            ""
            if value is not None
            else (
                f"stage `{source.split('.')[0]}` {stage.get('status', 'not run')}"
                + (f": {stage['reason']}" if stage.get("reason") else "")
            )
        )
        figures.append(
            Figure(
                key=key,
                label=label,
                source=source,
                value=value,
                unit=unit,
                scale=scale,
                digits=digits,
                low=low,
                high=high,
                note=note,
                headline=headline,
                definition=definition,
            )
        )
    return figures


def format_number(value: float, digits: int = 0) -> str:
    """Thousands separators and a fixed number of decimals (``1,234.50``)."""
    return f"{value:,.{digits}f}"


def count(value: float, noun: str, plural: str | None = None) -> str:
    """``1 person``, ``2 people``, ``1,204 buildings`` (rounded to a whole number)."""
    rounded = round(value)
    return f"{format_number(rounded)} {noun if rounded == 1 else (plural or noun + 's')}"


def format_size(size_bytes: int) -> str:
    """A file size in the unit that fits: ``812 B``, ``3.4 kB``, ``12.5 MB``, ``1.20 GB`` (SI units)."""
    for unit, factor, digits in (("GB", 1e9, 2), ("MB", 1e6, 1), ("kB", 1e3, 1)):
        if size_bytes >= factor:
            return f"{size_bytes / factor:.{digits}f} {unit}"
    return f"{size_bytes} B"
