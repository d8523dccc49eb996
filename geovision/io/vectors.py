"""Vector I/O: read any OGR vector with clear errors; write GeoPackage or RFC 7946 GeoJSON atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from geopandas.array import GeometryDtype
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry.base import BaseGeometry

from geovision.errors import ConfigError, CorruptFileError, GeoreferenceError, OutputExistsError
from geovision.io.atomic import atomic_output
from geovision.io.paths import check_input_file

GEOJSON_SUFFIXES = (".geojson", ".json")
GPKG_SUFFIXES = (".gpkg",)
GPKG_OPTIONS = {"VERSION": "1.2"}  # GDAL >= 3.8 writes 1.4, which GDAL 3.6 / QGIS 3.22 warn about
GEOJSON_SIGNIFICANT_FIGURES = 7  # of property values (coordinates: RFC 7946's 7 decimals)


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Layer names of a vector file."""
    check_input_file(path, kind="vector file")
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except DataSourceError as error:
        raise CorruptFileError(
            f"not a readable vector file ({error})",
            path=path,
            fix="check that it is a complete GeoPackage/GeoJSON/Shapefile; re-export it",
        ) from error


def read_vectors(path: str | os.PathLike[str], *, layer: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer.

    Raises MissingFileError, CorruptFileError, ConfigError (no such layer) or GeoreferenceError.
    """
    check_input_file(path, kind="vector file")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except DataLayerError as error:
        layers = list_layers(path)
        raise ConfigError(
            f"layer {layer!r} not found (layers: {', '.join(layers) or 'none'})",
            path=path,
            fix="choose one of the listed layers",
        ) from error
    except DataSourceError as error:
        raise CorruptFileError(
            f"not a readable vector file ({error})",
            path=path,
            fix="check that it is a complete GeoPackage/GeoJSON/Shapefile; re-export it",
        ) from error
    if frame.crs is None:
        raise GeoreferenceError(
            "vector layer has no CRS",
            path=path,
            fix="save it with its CRS (e.g. `ogr2ogr -a_srs EPSG:4326 out.gpkg in.shp`)",
        )
    return frame


def _is_geometry_column(series: pd.Series) -> bool:
    if isinstance(series.dtype, GeometryDtype):
        return True
    values = series.dropna()
    return series.dtype == object and len(values) > 0 and bool(values.map(lambda v: isinstance(v, BaseGeometry)).all())


def _writable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Only the active geometry column stays geometric; other geometry columns become WKT text."""
    extra = [c for c in gdf.columns if c != gdf.geometry.name and _is_geometry_column(gdf[c])]
    if not extra:
        return gdf
    out = gdf.copy()
    for column in extra:
        out[column] = [None if v is None else v.wkt for v in out[column]]
    return out


def write_vectors(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    overwrite: bool = False,
    append_layer: bool = False,
) -> Path:
    """Write ``gdf`` as GeoPackage 1.2 (``.gpkg``) or RFC 7946 GeoJSON in EPSG:4326 (``.geojson``), atomically.

    GeoJSON property values keep ``GEOJSON_SIGNIFICANT_FIGURES`` significant figures.

    ``append_layer=True`` adds ``layer`` to an existing GeoPackage (an existing layer of that
    name needs ``overwrite``); otherwise an existing file needs ``overwrite``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GEOJSON_SUFFIXES + GPKG_SUFFIXES:
        raise ConfigError(
            f"unsupported vector output type {suffix or '(none)'}", path=path, fix="use a .gpkg or .geojson file name"
        )
    if gdf.crs is None:
        raise GeoreferenceError(
            "cannot write vectors without a CRS",
            path=path,
            fix="set the GeoDataFrame's CRS (gdf.set_crs(...)) before writing",
        )
    frame = _writable(gdf)
    if suffix in GEOJSON_SUFFIXES:
        if append_layer:
            raise ConfigError("GeoJSON holds one layer only", path=path, fix="write a .gpkg to add layers")
        with atomic_output(path, overwrite=overwrite) as tmp:
            frame.to_crs(4326).to_file(
                tmp,
                driver="GeoJSON",
                engine="pyogrio",
                RFC7946="YES",
                WRITE_NAME="NO",
                COORDINATE_PRECISION=7,
                SIGNIFICANT_FIGURES=GEOJSON_SIGNIFICANT_FIGURES,
            )
        return path
    layer = layer or path.stem
    if append_layer and path.exists():
        if layer in list_layers(path) and not overwrite:
            raise OutputExistsError(
                f"layer {layer!r} already exists",
                path=path,
                fix="pass --overwrite to replace it, or choose another layer name",
            )
        with atomic_output(path, overwrite=True) as tmp:
            shutil.copyfile(path, tmp)
            frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", mode="w")
        return path
    with atomic_output(path, overwrite=overwrite) as tmp:
        frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", **GPKG_OPTIONS)
    return path
