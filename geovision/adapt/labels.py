"""Map data as training labels: buildings (polygons) and roads (lines) from any vector file.

OpenStreetMap exports (``.osm``, ``.osm.pbf``) are read through GDAL's OSM driver: buildings
from the ``multipolygons`` layer where ``building`` is set, roads from ``lines`` where
``highway`` is set. Any other vector format (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, CSV
with WKT) gives buildings from its polygons and roads from its lines. Roads are buffered to
their ``width`` attribute (metres) or a width per ``highway`` class.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geovision.errors import ConfigError, CorruptFileError
from geovision.io.vectors import read_vectors

DEFAULT_ROAD_WIDTH_M = 7.0
ROAD_WIDTHS_M = {  # carriageway widths by OSM highway class (metres)
    "motorway": 16.0,
    "trunk": 14.0,
    "primary": 12.0,
    "secondary": 10.0,
    "tertiary": 9.0,
    "unclassified": 7.0,
    "residential": 7.0,
    "living_street": 6.0,
    "service": 5.0,
    "track": 4.0,
    "pedestrian": 5.0,
    "footway": 2.0,
    "path": 2.0,
    "cycleway": 2.0,
    "steps": 2.0,
}
AREAS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")


def is_osm(path: str | os.PathLike[str]) -> bool:
    name = Path(path).name.lower()
    return name.endswith((".osm", ".osm.pbf", ".pbf"))


ROAD_CLASS_COLUMNS = ("highway", "fclass", "type")  # OSM tag; Geofabrik shapefiles; imposm/SpaceNet exports


def road_width_m(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Per line: its numeric ``width`` attribute, else the width of its road class, else the default.

    The class is OSM's ``highway`` tag, or the same values under ``fclass`` (Geofabrik shapefiles)
    or ``type`` (imposm exports such as SpaceNet's); the first column with a known class wins.
    """
    widths = pd.Series(np.nan, index=frame.index)
    for column in ROAD_CLASS_COLUMNS:
        if column in frame:
            classes = frame[column].astype("string").str.replace("_link", "", regex=False)
            widths = widths.fillna(classes.map(ROAD_WIDTHS_M).astype(float))
    widths = widths.fillna(DEFAULT_ROAD_WIDTH_M).to_numpy(dtype=float)
    if "width" in frame:
        given = pd.to_numeric(frame["width"].astype("string").str.extract(r"([\d.]+)")[0], errors="coerce")
        widths = np.where(given.notna() & (given > 0) & (given < 60), given, widths)
    return widths.astype(float)


def road_corridors(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Road lines (with ``width_m``) buffered to their width, in their local UTM CRS (metres)."""
    metric = roads.to_crs(roads.estimate_utm_crs())
    return gpd.GeoDataFrame(geometry=metric.buffer(metric["width_m"] / 2, cap_style="flat"), crs=metric.crs)


@dataclass
class LabelSet:
    """Buildings and roads (EPSG-aware frames; roads carry ``width_m``) from the label files."""

    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    sources: list[str]

    @property
    def tasks(self) -> list[str]:
        return [task for task, frame in (("buildings", self.buildings), ("roads", self.roads)) if len(frame)]


def _osm_layers(path: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    try:
        polygons = gpd.read_file(path, layer="multipolygons", engine="pyogrio")
        lines = gpd.read_file(path, layer="lines", engine="pyogrio")
    except Exception as error:  # pyogrio raises DataSourceError/DataLayerError; both mean "not readable"
        raise CorruptFileError(
            f"not a readable OpenStreetMap file ({str(error)[:160]})",
            path=path,
            fix="export it again (e.g. from the HOT Export Tool) as .osm.pbf or .osm",
        ) from error
    buildings = polygons[polygons.get("building", pd.Series(index=polygons.index, dtype=object)).notna()]
    roads = lines[lines.get("highway", pd.Series(index=lines.index, dtype=object)).notna()]
    return buildings, roads


def read_labels(paths: list[str | os.PathLike[str]]) -> LabelSet:
    """Buildings and roads of every label file, in EPSG:4326; clear errors for unusable files."""
    buildings, roads = [], []
    for path in map(Path, paths):
        if is_osm(path):
            found_buildings, found_roads = _osm_layers(path)
        else:
            frame = read_vectors(path)
            frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
            if frame.empty:
                raise ConfigError(
                    "the label file has no geometries",
                    path=path,
                    fix="give a file with building polygons and/or road lines",
                )
            kinds = frame.geometry.geom_type
            found_buildings, found_roads = frame[kinds.isin(AREAS)], frame[kinds.isin(LINES)]
            if found_buildings.empty and found_roads.empty:
                raise ConfigError(
                    f"the label layer holds {', '.join(sorted(set(kinds)))} geometries, "
                    "not building polygons or road lines",
                    path=path,
                    fix="give footprints as polygons and roads as lines (points cannot be learned from)",
                )
        if found_buildings.empty and found_roads.empty:
            raise ConfigError(
                "no buildings (polygons with a building tag) or roads (lines with a highway tag)",
                path=path,
                fix="give an export that contains buildings or roads",
            )
        buildings.append(found_buildings.to_crs("EPSG:4326")[["geometry"]])
        roads_frame = found_roads.to_crs("EPSG:4326")
        roads.append(
            gpd.GeoDataFrame(
                {"width_m": road_width_m(roads_frame)}, geometry=roads_frame.geometry.values, crs="EPSG:4326"
            )
        )
    return LabelSet(
        buildings=gpd.GeoDataFrame(pd.concat(buildings, ignore_index=True), crs="EPSG:4326"),
        roads=gpd.GeoDataFrame(pd.concat(roads, ignore_index=True), crs="EPSG:4326"),
        sources=[str(p) for p in paths],
    )


def label_licence(paths: list[str | os.PathLike[str]], given: str | None) -> str:
    """The labels' licence: as given, ODbL for OpenStreetMap exports, else unknown."""
    if given:
        return given
    if all(is_osm(p) for p in paths):
        return "ODbL 1.0 (OpenStreetMap contributors)"
    return "unknown (state it with --licence)"
