"""Read predicted and true vectors for scoring: GeoJSON/GPKG/Shapefile, or CSV with WKT.

CSV files follow SpaceNet: buildings ``ImageId,BuildingId,PolygonWKT_Pix[,PolygonWKT_Geo,...]``,
roads ``ImageId,WKT_Pix``; ``POLYGON EMPTY``/``LINESTRING EMPTY`` rows mark images without objects.
Pixel WKT has no CRS unless a reference raster's transform and CRS are given (pixel corner
convention, as SpaceNet). Every frame returned has an ``image_id`` column (``"all"`` when the
source names no images).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geovision.errors import ConfigError, CorruptFileError, GeoreferenceError, MissingFileError

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine

IMAGE_COLUMNS = ("image_id", "ImageId", "imageid", "image")
WKT_COLUMNS = ("PolygonWKT_Pix", "WKT_Pix", "PolygonWKT_Geo", "WKT_Geo", "wkt", "WKT", "geometry")
DEFAULT_IMAGE = "all"


@dataclass(frozen=True)
class PixelGrid:
    """The affine transform and CRS that turn pixel WKT into map coordinates."""

    transform: Affine
    crs: Any  # rasterio's CRS

    @classmethod
    def from_raster(cls, path: str | Path) -> PixelGrid:
        import rasterio

        if not Path(path).exists():
            raise MissingFileError("reference raster not found", path=path, fix="check the --image path")
        with rasterio.open(path) as src:
            if src.crs is None:
                raise GeoreferenceError(
                    "the reference raster has no CRS",
                    path=path,
                    fix="give the georeferenced image the pixel coordinates refer to",
                )
            return cls(src.transform, src.crs)


def _read_csv(path: Path, *, wkt_column: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd
    import shapely

    table = pd.read_csv(path)
    column = wkt_column or next((c for c in WKT_COLUMNS if c in table.columns), None)
    if column is None or column not in table.columns:
        raise ConfigError(
            f"no WKT column found (columns: {', '.join(map(str, table.columns))})",
            path=path,
            fix=f"name it one of {', '.join(WKT_COLUMNS)} or pass the column name",
        )
    geometry = shapely.from_wkt(table[column].fillna("GEOMETRYCOLLECTION EMPTY").astype(str), on_invalid="raise")
    frame = gpd.GeoDataFrame(table.drop(columns=[column]), geometry=geometry, crs=None)
    return frame


def _with_image_ids(frame: gpd.GeoDataFrame, image_column: str | None, path: Path) -> gpd.GeoDataFrame:
    column = image_column or next((c for c in IMAGE_COLUMNS if c in frame.columns), None)
    if image_column is not None and image_column not in frame.columns:
        raise ConfigError(f"no image column {image_column!r}", path=path, fix="check --image-column")
    frame["image_id"] = frame[column].astype(str) if column is not None else DEFAULT_IMAGE
    return frame


def read_vectors(
    path: str | Path,
    *,
    wkt_column: str | None = None,
    image_column: str | None = None,
    pixel_grid: PixelGrid | None = None,
    image_id: str | None = None,
) -> gpd.GeoDataFrame:
    """A GeoDataFrame of the file's geometries with an ``image_id`` column.

    Empty geometries are kept (they declare images with no objects). ``pixel_grid`` maps pixel
    WKT to its map CRS; ``image_id`` keeps only that image's rows.
    """
    import geopandas as gpd
    import shapely

    path = Path(path)
    if not path.exists():
        raise MissingFileError("vector file not found", path=path, fix="check the path")
    from pyogrio.errors import DataSourceError

    try:
        if path.suffix.lower() in (".csv", ".txt"):
            table = _read_csv(path, wkt_column=wkt_column)
        else:
            table = gpd.read_file(path)
    except (DataSourceError, shapely.errors.GEOSException, UnicodeDecodeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise CorruptFileError(
            f"cannot read vectors ({error})", path=path, fix="check that the file is valid GeoJSON/GPKG/CSV with WKT"
        ) from error
    frame = _with_image_ids(table, image_column, path)
    if image_id is not None:
        frame = frame[frame["image_id"] == str(image_id)].copy()
    if pixel_grid is not None and frame.crs is None:
        t = pixel_grid.transform
        frame = frame.set_geometry(
            shapely.transform(
                frame.geometry.values,
                lambda xy: np.column_stack(
                    [t.a * xy[:, 0] + t.b * xy[:, 1] + t.c, t.d * xy[:, 0] + t.e * xy[:, 1] + t.f]
                ),
            )
        )
        frame = frame.set_crs(pixel_grid.crs)
    return frame


def common_crs(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Put ``truth`` in ``pred``'s CRS; both must have a CRS, or neither (pixel space)."""
    if (pred.crs is None) != (truth.crs is None):
        raise GeoreferenceError(
            "one input has a CRS and the other has not (pixel coordinates?)",
            fix="give --image so pixel coordinates can be georeferenced, or compare files of one kind",
        )
    if pred.crs is not None and pred.crs != truth.crs:
        truth = truth.to_crs(pred.crs)
    return pred, truth


def metric_crs(*frames: gpd.GeoDataFrame) -> Any:
    """The UTM zone of the first non-empty georeferenced frame (metres, little distortion), or None.

    UTM is used even for data already projected: Web Mercator and many national grids do not
    measure true metres.
    """
    frame = next((f for f in frames if f.crs is not None and len(f) and not f.geometry.is_empty.all()), None)
    if frame is None:
        return None
    return frame[~frame.geometry.is_empty].estimate_utm_crs()


def repair_polygons(geometries: Any) -> tuple[np.ndarray, int]:
    """Make invalid polygons valid (``shapely.make_valid``, polygonal parts kept); return the
    repaired array and how many were repaired."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    geoms = np.asarray(geometries, dtype=object)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    out = geoms.copy()
    for i in np.flatnonzero(invalid):
        fixed = shapely.make_valid(geoms[i])
        if not isinstance(fixed, (Polygon, MultiPolygon)):
            parts = [p for p in getattr(fixed, "geoms", [fixed]) if isinstance(p, (Polygon, MultiPolygon))]
            fixed = shapely.union_all(parts) if parts else Polygon()
        out[i] = fixed
    return out, int(invalid.sum())


def align_image_ids(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """When one side names no images and the other names exactly one, use that name for both."""
    ids_pred, ids_truth = set(pred["image_id"]), set(truth["image_id"])
    if ids_pred <= {DEFAULT_IMAGE} and len(ids_truth) == 1:
        pred = pred.assign(image_id=next(iter(ids_truth)))
    elif ids_truth <= {DEFAULT_IMAGE} and len(ids_pred) == 1:
        truth = truth.assign(image_id=next(iter(ids_pred)))
    return pred, truth
