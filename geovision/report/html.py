"""``report.html``: a self-contained page (no network, works from file://) summarising a run.

Before/after quicklooks with a swipe, toggled overlays drawn as inline SVG (DII grid,
lost buildings, damaged roads, population), headline numbers taken verbatim from
``run.json`` (each element carries ``data-figure``, ``data-value`` and ``data-source``
so a test can compare them), plots as inline PNG, the stages and the files of the run.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import rasterio
import shapely

from geovision.io.atomic import atomic_output
from geovision.report import package
from geovision.report.figures import Figure, format_number, headline_figures
from geovision.report.plots import dii_histogram_png
from geovision.report.quicklook import encode_image, quicklook_shape, read_quicklook
from geovision.report.styles import DII_HTML_COLOURS, dii_breaks

REPORT_NAME = "report.html"
MAX_FEATURES = 5000  # per overlay layer; beyond that the page says how many were left out


@dataclass
class Overlay:
    """One toggled SVG layer of the map."""

    key: str
    label: str
    shapes: list[dict[str, str]] = field(default_factory=list)  # d, fill, stroke, title
    total: int = 0
    line: bool = False
    checked: bool = True
    swatch: str = "#fd8d3c"  # legend colour

    @property
    def note(self) -> str:
        return "" if len(self.shapes) >= self.total else f"showing {len(self.shapes):,} of {self.total:,}"


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode("ascii")


def quicklook_uri(path: str | os.PathLike[str], max_px: int) -> str:
    media_type, data = encode_image(read_quicklook(path, max_px=max_px))
    return data_uri(data, media_type)


def svg_path(geometry: shapely.Geometry, digits: int = 1) -> str:
    """SVG path data of a (multi)polygon or (multi)line in page pixels."""
    parts = []
    for part in getattr(geometry, "geoms", [geometry]):
        rings = [part.exterior, *part.interiors] if isinstance(part, shapely.Polygon) else [part]
        for ring in rings:
            coords = np.round(np.asarray(ring.coords)[:, :2], digits)
            if len(coords) < 2:
                continue
            points = " ".join(f"{x:g},{y:g}" for x, y in coords)
            parts.append(f"M{points}" + ("Z" if isinstance(part, shapely.Polygon) else ""))
    return " ".join(parts)


class PageGeometry:
    """Maps scene coordinates to the quicklook's pixels."""

    def __init__(self, image_path: str | os.PathLike[str], max_px: int):
        with rasterio.open(image_path) as src:
            self.crs, self.transform = src.crs, src.transform
            self.height, self.width = quicklook_shape(src.width, src.height, max_px)
            self.scale = (self.width / src.width, self.height / src.height)

    def project(self, frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
        frame = frame.to_crs(self.crs) if frame.crs is not None and self.crs is not None else frame
        a, b, c, d, e, f = tuple(~self.transform)[:6]
        sx, sy = self.scale

        def to_page(xy: np.ndarray) -> np.ndarray:
            x, y = xy[:, 0], xy[:, 1]
            return np.column_stack([(a * x + b * y + c) * sx, (d * x + e * y + f) * sy])

        return gpd.GeoSeries(shapely.transform(frame.geometry.values, to_page), index=frame.index)


def _overlay(key: str, label: str, frame: gpd.GeoDataFrame, page: PageGeometry, style, *, swatch: str,
             line: bool = False, checked: bool = True) -> Overlay:
    total = len(frame)
    frame = frame.iloc[:MAX_FEATURES]
    shapes = [{"d": svg_path(geometry), **style(row)}
              for geometry, (_, row) in zip(page.project(frame), frame.iterrows())
              if geometry is not None and not geometry.is_empty]
    return Overlay(key=key, label=label, shapes=shapes, total=total, line=line, checked=checked, swatch=swatch)


def _dii_colour(dii: float, theta: float) -> str:
    """The DII classes of the QGIS style (``styles.dii_breaks``): below theta unfilled."""
    return DII_HTML_COLOURS[max(0, int(np.searchsorted(dii_breaks(theta), dii, side="right")) - 1)]


def build_overlays(layers: dict[str, gpd.GeoDataFrame], page: PageGeometry, theta: float) -> list[Overlay]:
    """The map's overlays from the run's vector layers (``package.collect_layers``)."""
    overlays = []
    grid_key = "grid" if "grid" in layers and "dii" in layers["grid"] else "reference_grid"
    grid = layers.get(grid_key)
    if grid is not None:
        cells = grid[np.isfinite(grid["dii"].to_numpy(dtype=float))]
        label = "DII grid" + (" (reference: ground truth)" if grid_key == "reference_grid" else "")
        overlays.append(_overlay("dii", label, cells, page, lambda r: {
            "fill": _dii_colour(float(r["dii"]), theta), "stroke": "#555",
            "title": f"DII {float(r['dii']):.3f}, lost fraction {float(r.get('lost_fraction', np.nan)):.2f}"},
            swatch="#fd8d3c"))
    if "buildings" in layers:
        lost = layers["buildings"][layers["buildings"]["lost"].astype(bool)]
        overlays.append(_overlay("buildings", "Lost buildings", lost, page, lambda r: {
            "fill": "#d7191c", "stroke": "#67000d", "title": f"building {r.get('building_id', '')}: lost"},
            swatch="#d7191c"))
    if "roads" in layers:
        damaged = layers["roads"][layers["roads"]["lost_fraction"].to_numpy(dtype=float) > 0]
        overlays.append(_overlay("roads", "Damaged roads", damaged, page, lambda r: {
            "fill": "none", "stroke": "#d7191c" if float(r["lost_fraction"]) >= 0.5 else "#fdae61",
            "title": f"road segment: {float(r['lost_fraction']):.0%} lost"}, swatch="#fdae61", line=True))
    if grid is not None and "persons_impacted" in grid:
        people = grid[grid["persons_impacted"].to_numpy(dtype=float) > 0]
        top = float(people["persons_impacted"].max()) if len(people) else 1.0
        overlays.append(_overlay("population", "Population in impacted cells", people, page, lambda r: {
            "fill": f"rgba(106,81,163,{0.25 + 0.6 * float(r['persons_impacted']) / top:.2f})", "stroke": "#3f007d",
            "title": f"{format_number(float(r['persons_impacted']))} people in this impacted cell"},
            swatch="#9e9ac8", checked=False))
    return overlays


def _grid_for_plots(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    for key in ("grid", "reference_grid"):
        if key in layers and "dii" in layers[key]:
            return layers[key]
    return None


def _pr_curve(record: dict[str, Any]) -> tuple[str, Path] | None:
    for stage, label in (("impact_buildings", "predicted DII"), ("reference", "reference DII (ground truth)")):
        path = package.stage_output(record, stage, "pr_curve_png")
        if path is not None:
            return label, path
    return None


def _stage_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "status": stage.get("status", ""), "reason": stage.get("reason", ""),
             "seconds": stage.get("seconds", 0.0)} for name, stage in record.get("stages", {}).items()]


def _file_rows(run_dir: Path) -> list[dict[str, str]]:
    from geovision.report.stac import run_files

    rows = []
    for path in run_files(run_dir):
        relative = path.relative_to(run_dir).as_posix()
        if relative != REPORT_NAME:
            rows.append({"href": relative, "size": f"{path.stat().st_size / 1e6:.2f} MB"})
    stac = run_dir / "stac" / "catalog.json"
    if stac.exists():
        rows.append({"href": "stac/catalog.json", "size": f"{stac.stat().st_size / 1e6:.2f} MB"})
    return rows


def render_report(run_dir: str | os.PathLike[str], record: dict[str, Any], *, max_px: int = 1024,
                  layers: dict[str, gpd.GeoDataFrame] | None = None, overwrite: bool = True) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    run_dir = Path(run_dir)
    inputs = record.get("inputs", {})
    theta = float(record.get("options", {}).get("theta_buildings", 0.1))
    layers = package.collect_layers(record) if layers is None else layers
    page = PageGeometry(inputs["pre"], max_px)
    figures: list[Figure] = headline_figures(record)
    grid = _grid_for_plots(layers)
    pr = _pr_curve(record)
    context = {
        "name": inputs.get("name", run_dir.name), "licence": inputs.get("licence", ""),
        "version": record.get("geovision", ""), "options": record.get("options", {}),
        "width": page.width, "height": page.height,
        "before": quicklook_uri(inputs["pre"], max_px), "after": quicklook_uri(inputs["post"], max_px),
        "overlays": build_overlays(layers, page, theta),
        "figures": [f for f in figures if f.available], "missing": [f for f in figures if not f.available],
        "histogram": None if grid is None else data_uri(dii_histogram_png(grid["dii"].to_numpy(dtype=float),
                                                                          theta=theta)),
        "pr_curve": None if pr is None else {"label": pr[0], "src": data_uri(pr[1].read_bytes())},
        "stages": _stage_rows(record), "files": _file_rows(run_dir),
    }
    environment = jinja2.Environment(loader=jinja2.PackageLoader("geovision.report", "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    text = environment.get_template(REPORT_NAME).render(**context)
    path = run_dir / REPORT_NAME
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
