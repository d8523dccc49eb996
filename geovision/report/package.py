"""The run folder made ready for GIS: one GeoPackage with every vector layer, GeoJSON copies, QGIS styles.

``geovision.gpkg`` gets the layers ``buildings`` (lost flag), ``roads`` (lost
fraction), ``grid`` (buildings DII + population, roads DII as ``roads_*``),
``admin_units`` (census units with affected population) and ``reference_grid``
(DII of the ground truth), each only when its stage ran. Their QGIS styles go into
the GeoPackage's ``layer_styles`` table (QGIS loads them by default) and, with
RFC 7946 GeoJSON copies, into ``gis/<layer>.qml|.geojson``. Each COG of the run gets
a ``.qml`` beside it; QGIS finds a file's default style by its base name, so the one of
``impact/<kind>_impact.tif`` also holds the vector style of ``<kind>_impact.gpkg|.geojson``.
GeoPackages are GeoPackage 1.2 with ISO 8601 ``update_time`` (read cleanly by GDAL 3.6 / QGIS 3.22).
Records passed in have absolute paths (:func:`geovision.report.figures.read_run_record`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from geovision.io.atomic import atomic_output
from geovision.io.vectors import GPKG_OPTIONS, read_vectors, write_vectors
from geovision.report import styles
from geovision.runconfig import recorded_config

GPKG_NAME = "geovision.gpkg"
GIS_DIR = "gis"


def stage_output(record: dict[str, Any], stage: str, name: str) -> Path | None:
    """The path of output ``name`` of ``stage`` when the stage is done and the file exists."""
    entry = record.get("stages", {}).get(stage, {})
    path = entry.get("outputs", {}).get(name)
    if entry.get("status") != "done" or not path or not Path(path).exists():
        return None
    return Path(path)


def _theta(record: dict[str, Any], kind: str = "buildings") -> float:
    return float(getattr(recorded_config(record).grid.theta, kind))


def _grid_layer(record: dict[str, Any]) -> gpd.GeoDataFrame | None:
    buildings = stage_output(record, "impact_buildings", "gpkg")
    roads = stage_output(record, "impact_roads", "gpkg")
    if buildings is None and roads is None:
        return None
    if buildings is None:
        frame = read_vectors(roads)
        return frame.rename(columns={c: f"roads_{c}" for c in frame.columns if c not in ("row", "col", "geometry")})
    frame = read_vectors(buildings)
    if roads is not None:
        extra = read_vectors(roads).drop(columns="geometry")
        extra = extra.rename(columns={c: f"roads_{c}" for c in extra.columns if c not in ("row", "col")})
        frame = frame.merge(extra, on=["row", "col"], how="outer")
    return frame


def _admin_layer(record: dict[str, Any]) -> gpd.GeoDataFrame | None:
    """Census units (row order = the ``zone`` ids of the affected-population table) with its columns."""
    table = stage_output(record, "impact_buildings", "affected_by_unit")
    inputs = record.get("inputs", {})
    census = inputs.get("census")
    if table is None or not census or not Path(census).exists() or inputs.get("census_kind") == "raster":
        return None  # a population raster's zones are its cells: no units to show
    units = read_vectors(census).reset_index(drop=True)
    affected = pd.read_csv(table).set_index("zone")
    joined = units.join(affected.add_prefix("affected_"), how="left")
    joined.insert(0, "zone", np.arange(len(joined)))
    return gpd.GeoDataFrame(joined, geometry=units.geometry.name, crs=units.crs)


def collect_layers(record: dict[str, Any]) -> dict[str, gpd.GeoDataFrame]:
    """The vector layers the run produced, by layer name (absent stages give no layer)."""
    sources = {
        "buildings": lambda: _read(stage_output(record, "vectorize", "buildings_gpkg")),
        "roads": lambda: _read(stage_output(record, "impact_roads", "damaged_roads")),
        "grid": lambda: _grid_layer(record),
        "admin_units": lambda: _admin_layer(record),
        "reference_grid": lambda: _read(stage_output(record, "reference", "gpkg")),
    }
    layers = {name: load() for name, load in sources.items()}
    return {name: frame for name, frame in layers.items() if frame is not None}


def _read(path: Path | None) -> gpd.GeoDataFrame | None:
    return None if path is None else read_vectors(path)


def layer_style(name: str, frame: gpd.GeoDataFrame, record: dict[str, Any]) -> str:
    """The QGIS style of one layer of ``geovision.gpkg``."""
    if name == "buildings":
        return styles.lost_buildings_style()
    if name == "roads":
        return styles.damaged_roads_style()
    if name == "admin_units":
        return styles.population_style(
            frame.get("affected_persons_impacted", pd.Series(dtype=float)).to_numpy(), "affected_persons_impacted"
        )
    if name == "grid" and "dii" not in frame:
        return styles.dii_grid_style(_theta(record, "roads"), field="roads_dii", features="roads")
    return styles.dii_grid_style(_theta(record))


def write_layer_styles(gpkg: Path, qml: dict[str, str]) -> None:
    """Store QML styles in the GeoPackage's ``layer_styles`` table (QGIS's convention), as each layer's default."""
    with contextlib.closing(sqlite3.connect(gpkg)) as db, db:  # closed, and committed on success
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        db.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        )
        for layer, text in qml.items():
            column = db.execute(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
            ).fetchone()
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                "VALUES ('', '', ?, ?, ?, ?, '', 1, 'geovision default style', '', '')",
                (layer, column[0] if column else "geom", layer, text),
            )


@dataclass
class PackageOutputs:
    gpkg: Path | None = None
    layers: dict[str, int] = field(default_factory=dict)  # layer -> feature count
    files: dict[str, Path] = field(default_factory=dict)  # every file written, by a short name


def package_run(
    run_dir: str | os.PathLike[str],
    record: dict[str, Any],
    *,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    overwrite: bool = True,
) -> PackageOutputs:
    """Write ``geovision.gpkg``, ``gis/*.geojson|.qml`` and the COG styles of a run folder.

    ``layers`` defaults to :func:`collect_layers` of the record.
    """
    run_dir = Path(run_dir)
    out = PackageOutputs()
    layers = collect_layers(record) if layers is None else layers
    qml = {name: layer_style(name, frame, record) for name, frame in layers.items()}
    if layers:
        out.gpkg = run_dir / GPKG_NAME
        with atomic_output(out.gpkg, overwrite=overwrite) as tmp:
            for name, frame in layers.items():
                frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **GPKG_OPTIONS)
            write_layer_styles(tmp, qml)
        out.files["gpkg"] = out.gpkg
    for name, frame in layers.items():
        out.layers[name] = int(len(frame))
        geojson = write_vectors(frame, run_dir / GIS_DIR / f"{name}.geojson", overwrite=overwrite)
        out.files[f"{name}_geojson"] = geojson
        out.files[f"{name}_qml"] = _write_text(run_dir / GIS_DIR / f"{name}.qml", qml[name], overwrite)
    for path, text in file_styles(run_dir, record).items():
        out.files[f"{path.parent.name}/{path.stem}_qml"] = _write_text(path, text, overwrite)
    return out


def file_styles(run_dir: Path, record: dict[str, Any]) -> dict[Path, str]:
    """A ``.qml`` (same base name, beside the file: QGIS loads it by default) for each COG and vector file."""
    out = {}
    for path, style in (
        (run_dir / "vectors" / "buildings.qml", styles.lost_buildings_style),
        (run_dir / "impact" / "roads_damaged.qml", styles.damaged_roads_style),
    ):
        if any(path.with_suffix(suffix).exists() for suffix in (".gpkg", ".geojson")):
            out[path] = style()
    for tif in sorted(run_dir.glob("*/*.tif")):
        theta = _theta(record, "roads" if tif.stem.startswith("roads") else "buildings")
        if tif.parent.name == "masks":
            kind = "probability" if tif.stem.endswith("_prob") else "mask"
            out[tif.with_suffix(".qml")] = styles.raster_style(1, kind, theta=theta)
            continue
        with rasterio.open(tif) as src:
            if "dii" not in src.descriptions:
                continue
            band = src.descriptions.index("dii") + 1
        # the same-name .gpkg/.geojson grid is a vector layer: one file carries both styles
        out[tif.with_suffix(".qml")] = styles.dii_grid_style(
            theta, raster_band=band, features="roads" if tif.stem.startswith("roads") else "buildings"
        )
    return out


def _write_text(path: Path, text: str, overwrite: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
