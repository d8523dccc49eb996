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
from geovision.report.figures import Figure, count, format_size, headline_figures
from geovision.report.plots import dii_histogram_png
from geovision.report.quicklook import encode_image, quicklook_shape, read_quicklook
from geovision.report.styles import DII_HTML_COLOURS, dii_breaks
from geovision.report.summary import cell_size_m
from geovision.runconfig import recorded_config

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
        from geovision.vector.units import pixel_size_m

        with rasterio.open(image_path) as src:
            self.crs, self.transform = src.crs, src.transform
            self.height, self.width = quicklook_shape(src.width, src.height, max_px)
            self.scale = (self.width / src.width, self.height / src.height)
            self.metres_per_px = pixel_size_m(src.transform, src.crs) / self.scale[0]  # per page pixel
            self.north_up = src.transform.b == 0 and src.transform.d == 0 and src.transform.e < 0
            lon, lat = _centre_lonlat(src)
        self.centre = (lon, lat)

    def scale_bar(self) -> dict[str, float | str]:
        """A scale bar of a round length near a fifth of the map's width (page pixels and its label)."""
        target = self.width * self.metres_per_px / 5
        length = max(v * 10**e for e in range(-1, 7) for v in (1, 2, 5) if v * 10**e <= max(target, 0.1))
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        return {"px": length / self.metres_per_px, "label": label}

    def project(self, frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
        frame = frame.to_crs(self.crs) if frame.crs is not None and self.crs is not None else frame
        a, b, c, d, e, f = tuple(~self.transform)[:6]
        sx, sy = self.scale

        def to_page(xy: np.ndarray) -> np.ndarray:
            x, y = xy[:, 0], xy[:, 1]
            return np.column_stack([(a * x + b * y + c) * sx, (d * x + e * y + f) * sy])

        return gpd.GeoSeries(shapely.transform(frame.geometry.values, to_page), index=frame.index)


def _centre_lonlat(src) -> tuple[float, float]:
    from rasterio.warp import transform as warp

    x, y = src.xy(src.height / 2, src.width / 2)
    if src.crs is None:
        return float("nan"), float("nan")
    xs, ys = warp(src.crs, "EPSG:4326", [x], [y])
    return float(xs[0]), float(ys[0])


def _overlay(
    key: str,
    label: str,
    frame: gpd.GeoDataFrame,
    page: PageGeometry,
    style,
    *,
    swatch: str,
    line: bool = False,
    checked: bool = True,
) -> Overlay:
    total = len(frame)
    frame = frame.iloc[:MAX_FEATURES]
    shapes = [
        {"d": svg_path(geometry), **style(row)}
        for geometry, (_, row) in zip(page.project(frame), frame.iterrows(), strict=True)
        if geometry is not None and not geometry.is_empty
    ]
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
        overlays.append(
            _overlay(
                "dii",
                label,
                cells,
                page,
                lambda r: {
                    "fill": _dii_colour(float(r["dii"]), theta),
                    "stroke": "#555",
                    "title": f"DII {float(r['dii']):.3f}, lost fraction {float(r.get('lost_fraction', np.nan)):.2f}",
                },
                swatch="#fd8d3c",
            )
        )
    if "buildings" in layers:
        lost = layers["buildings"][layers["buildings"]["lost"].astype(bool)]
        overlays.append(
            _overlay(
                "buildings",
                "Lost buildings",
                lost,
                page,
                lambda r: {
                    "fill": "#d7191c",
                    "stroke": "#67000d",
                    "title": f"building {r.get('building_id', '')}: lost",
                },
                swatch="#d7191c",
            )
        )
    if "roads" in layers:
        damaged = layers["roads"][layers["roads"]["lost_fraction"].to_numpy(dtype=float) > 0]
        overlays.append(
            _overlay(
                "roads",
                "Damaged roads",
                damaged,
                page,
                lambda r: {
                    "fill": "none",
                    "stroke": "#d7191c" if float(r["lost_fraction"]) >= 0.5 else "#fdae61",
                    "title": f"road segment: {float(r['lost_fraction']):.0%} lost",
                },
                swatch="#fdae61",
                line=True,
            )
        )
    if grid is not None and "persons_impacted" in grid:
        people = grid[grid["persons_impacted"].to_numpy(dtype=float) > 0]
        top = float(people["persons_impacted"].max()) if len(people) else 1.0
        overlays.append(
            _overlay(
                "population",
                "Population in impacted cells",
                people,
                page,
                lambda r: {
                    "fill": f"rgba(106,81,163,{0.25 + 0.6 * float(r['persons_impacted']) / top:.2f})",
                    "stroke": "#3f007d",
                    "title": f"{count(float(r['persons_impacted']), 'person', 'people')} in this impacted cell",
                },
                swatch="#9e9ac8",
                checked=False,
            )
        )
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
    return [
        {
            "name": name,
            "status": stage.get("status", ""),
            "reason": stage.get("reason", ""),
            "seconds": stage.get("seconds", 0.0),
        }
        for name, stage in record.get("stages", {}).items()
    ]


def _file_rows(run_dir: Path) -> list[dict[str, str]]:
    from geovision.report.stac import run_files

    rows = []
    for path in run_files(run_dir):
        relative = path.relative_to(run_dir).as_posix()
        if relative != REPORT_NAME:
            rows.append({"href": relative, "size": format_size(path.stat().st_size)})
    stac = run_dir / "stac" / "catalog.json"
    if stac.exists():
        rows.append({"href": "stac/catalog.json", "size": format_size(stac.stat().st_size)})
    return rows


def _day(text: str | None) -> str | None:
    """The date part of an ISO 8601 timestamp."""
    return str(text)[:10] if text else None


def _place(lonlat: tuple[float, float]) -> str:
    lon, lat = lonlat
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return "unknown (no CRS)"
    return f"{abs(lat):.4f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.4f}° {'E' if lon >= 0 else 'W'}"


def _interval_level(record: dict[str, Any]) -> float | None:
    population = record.get("stages", {}).get("impact_buildings", {}).get("figures", {}).get("population", {})
    level = population.get("interval_level")
    return float(level) if level is not None else None


def render_report(
    run_dir: str | os.PathLike[str],
    record: dict[str, Any],
    *,
    max_px: int = 1024,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    run_dir = Path(run_dir)
    inputs = record.get("inputs", {})
    config = recorded_config(record)
    theta = config.grid.theta.buildings
    layers = package.collect_layers(record) if layers is None else layers
    page = PageGeometry(inputs["pre"], max_px)
    figures: list[Figure] = headline_figures(record)
    grid = _grid_for_plots(layers)
    pr = _pr_curve(record)
    cell_m = cell_size_m(record) or cell_size_m(record, "reference")
    context = {
        "name": inputs.get("name", run_dir.name),
        "licence": inputs.get("licence", ""),
        "attribution": inputs.get("attribution", ""),
        "census_licence": inputs.get("census_licence", ""),
        "title": inputs.get("title", ""),
        "event_date": inputs.get("event_date"),
        "pre_date": _day(inputs.get("pre_date")),
        "post_date": _day(inputs.get("post_date")),
        "place": _place(page.centre),
        "cell_m": cell_m,
        "theta": theta,
        "cell_px": config.grid.cell_px,
        "interval_level": _interval_level(record),
        "scale_bar": page.scale_bar(),
        "north_up": page.north_up,
        "checks": [f for f in figures if f.available and not f.headline],
        "version": record.get("geovision", ""),
        "width": page.width,
        "height": page.height,
        "before": quicklook_uri(inputs["pre"], max_px),
        "after": quicklook_uri(inputs["post"], max_px),
        "overlays": build_overlays(layers, page, theta),
        "figures": [f for f in figures if f.available and f.headline],
        "missing": [f for f in figures if not f.available and f.headline],
        "histogram": None
        if grid is None
        else data_uri(dii_histogram_png(grid["dii"].to_numpy(dtype=float), theta=theta)),
        "pr_curve": None if pr is None else {"label": pr[0], "src": data_uri(pr[1].read_bytes())},
        "stages": _stage_rows(record),
        "files": _file_rows(run_dir),
    }
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("geovision.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    text = environment.get_template(REPORT_NAME).render(**context)
    path = run_dir / REPORT_NAME
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
