"""The few lines ``geovision run`` ends with, and the figures behind them (``--json``), from a run record."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from geovision.io.validity import LOW_VALID_SHARE
from geovision.report.figures import count, format_number, lookup
from geovision.report.package import GPKG_NAME
from geovision.runconfig import recorded_config


def cell_size_m(record: dict[str, Any], stage: str = "impact_buildings") -> float | None:
    """Side of one DII grid cell in metres (from the stage's figures; else cell_px x the segment's res_m)."""
    value = lookup(record, f"{stage}.cell_m")
    if value is None:
        res, cell_px = lookup(record, "segment.res_m"), lookup(record, f"{stage}.cell_px")
        value = res * cell_px if res and cell_px else None
    return float(value) if value is not None else None


def summary_figures(record: dict[str, Any], run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The headline figures of a run as plain JSON values (``None`` where a stage did not produce one)."""
    run_dir = Path(run_dir)
    population = lookup(record, "impact_buildings.population") or {}
    report, gpkg = run_dir / "report.html", run_dir / GPKG_NAME
    return {
        "name": record.get("inputs", {}).get("name"),
        "buildings_before": lookup(record, "vectorize.buildings_before"),
        "buildings_lost": lookup(record, "vectorize.buildings_lost"),
        "persons_impacted": population.get("persons_impacted"),
        "persons_impacted_low": population.get("persons_impacted_low"),
        "persons_impacted_high": population.get("persons_impacted_high"),
        "interval_level": population.get("interval_level"),
        "persons_lost": population.get("persons_lost"),
        "road_lost_km": _km(lookup(record, "impact_roads.road_lost_m")),
        "road_length_km": _km(lookup(record, "impact_roads.road_length_m")),
        "cells_impacted": lookup(record, "impact_buildings.cells_impacted"),
        "cells_defined": lookup(record, "impact_buildings.cells_defined"),
        "cell_m": cell_size_m(record),
        "cell_px": lookup(record, "impact_buildings.cell_px"),
        "theta": recorded_config(record).grid.theta.buildings,
        "grid_f1": lookup(record, "evaluate.f1"),
        "valid_share": lookup(record, "inputs.valid_share") or {},
        "report_html": str(report) if report.exists() else None,
        "geopackage": str(gpkg) if gpkg.exists() else None,
        "run_json": str(run_dir / "run.json"),
    }


def _km(metres: float | None) -> float | None:
    return None if metres is None else round(metres / 1000, 3)


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """A short human summary of :func:`summary_figures` (only the lines whose figures exist)."""
    f, lines = figures, []
    if f["buildings_lost"] is not None:
        before = count(f["buildings_before"], "building")
        lines.append(f"buildings lost:  {format_number(f['buildings_lost'])} of {before}")
    if f["persons_impacted"] is not None:
        text = f"people affected: {count(f['persons_impacted'], 'person', 'people')} in impacted cells"
        if f["persons_impacted_low"] is not None and f["persons_impacted_high"] is not None:
            level = f"{100 * (f['interval_level'] or 0.95):g} %"
            text += (
                f" ({level} interval {format_number(f['persons_impacted_low'])}–"
                f"{format_number(f['persons_impacted_high'])})"
            )
        lines.append(text)
    if f["road_lost_km"] is not None:
        lines.append(
            f"roads lost:      {format_number(f['road_lost_km'], 2)} km of {format_number(f['road_length_km'], 2)} km"
        )
    if f["cells_impacted"] is not None:
        size = f" of {format_number(f['cell_m'])} m x {format_number(f['cell_m'])} m" if f["cell_m"] else ""
        lines.append(
            f"impacted cells:  {format_number(f['cells_impacted'])} of {format_number(f['cells_defined'])} "
            f"cells{size} (DII >= theta {f['theta']:g})"
        )
    if not lines:
        lines.append("no impact figures: see the skipped stages above")
    low = {date: share for date, share in (f.get("valid_share") or {}).items() if share < LOW_VALID_SHARE}
    if low:
        lines.append(
            "warning:         only "
            + ", ".join(f"{100 * share:.0f} % of the {date}-event image" for date, share in low.items())
            + " holds data: the figures cover only that part"
        )
    for label, key in (("report", "report_html"), ("GeoPackage", "geopackage"), ("run record", "run_json")):
        if f[key]:
            lines.append(f"{label + ':':16s} {f[key]}")
    return lines
