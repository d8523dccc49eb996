"""Label layers read window by window: raster masks and vectors rasterised on the fly.

A target's ``read(window)`` returns ``(mask uint8 [h, w] 0/1, known bool [h, w])``; ``known``
is False outside the label raster or where it is nodata. Vectors are kept in the image's
pixel coordinates (x = column, y = row) so one code path serves GeoTIFFs and xBD PNGs.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window

from geovision.data.images import open_quietly
from geovision.errors import AlignmentError
from geovision.io.labels import rasterize_vectors
from geovision.io.raster import check_input_file
from geovision.io.validity import read_valid
from geovision.io.windows import clip_window
from geovision.types import PixelWindow

RASTER_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt"}


class RasterTarget:
    """A mask raster on the image's pixel grid: positive where band 1 is above ``threshold``.

    A reader of its own (not :func:`geovision.io.raster.open_raster`) because labels may be
    plain PNGs with no georeference, and ``use_mask=False`` reads the nodata value as
    background; with ``use_mask`` its ``known`` pixels are the one validity rule
    (:func:`geovision.io.validity.read_valid`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        threshold: float = 0.5,
        transform: Affine | None = None,
        use_mask: bool = True,
    ):
        check_input_file(path, kind="label raster")
        self.path = os.fspath(path)
        self.threshold = threshold
        self.use_mask = use_mask
        with self._open() as dataset:
            if (dataset.width, dataset.height) != (width, height):
                raise AlignmentError(
                    f"label raster is {dataset.width}x{dataset.height} but its image is {width}x{height}",
                    path=self.path,
                    fix="labels must be on the image's pixel grid (resample them with gdalwarp)",
                )
            if (
                transform is not None
                and not dataset.transform.is_identity
                and not dataset.transform.almost_equals(transform)
            ):
                raise AlignmentError(
                    "label raster's geotransform differs from its image's",
                    path=self.path,
                    fix="warp the labels onto the image grid (gdalwarp -te ... -ts ...)",
                )
            self.width, self.height = width, height

    def _open(self) -> rasterio.io.DatasetReader:
        return open_quietly(self.path, kind="label raster")

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros((window.height, window.width), np.uint8)
        known = np.zeros((window.height, window.width), bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is None:
            return mask, known
        inner, (rows, cols) = clipped
        with self._open() as dataset:
            if self.use_mask:
                (values,), inner_known = read_valid(dataset, [1], window=Window(*inner))
            else:  # label_nodata="ignore": the declared nodata value is background, every pixel known
                values = dataset.read(1, window=Window(*inner))
                inner_known = np.ones(values.shape, bool)
        mask[rows, cols] = (values > self.threshold) & inner_known
        known[rows, cols] = inner_known
        return mask, known


def to_pixel_frame(gdf: gpd.GeoDataFrame, *, transform: Affine, crs) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs`` and express it in pixel coordinates of ``transform`` (no CRS)."""
    inverse = ~transform
    frame = gdf.to_crs(crs) if gdf.crs is not None and crs is not None else gdf
    matrix = [inverse.a, inverse.b, inverse.d, inverse.e, inverse.c, inverse.f]
    pixels = frame.geometry.affine_transform(matrix)
    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=pixels.set_crs(None, allow_override=True))


def _thicken(geometries: gpd.GeoSeries, line_width_px: float) -> gpd.GeoSeries:
    """Polygons unchanged; lines and points buffered to ``line_width_px`` total width."""
    is_area = geometries.geom_type.isin(["Polygon", "MultiPolygon"])
    if line_width_px <= 0:
        return geometries
    out = geometries.copy()
    out[~is_area] = geometries[~is_area].buffer(line_width_px / 2, cap_style="flat")
    return out


class VectorTarget:
    """Vectors in pixel coordinates, rasterised per window (polygons filled, lines buffered).

    ``boundary_px > 0`` rasterises polygon outlines of that width instead (a building-boundary task).
    """

    def __init__(
        self, frame: gpd.GeoDataFrame, *, width: int, height: int, line_width_px: float = 0.0, boundary_px: float = 0.0
    ):
        geometries = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
        geometries = geometries.make_valid() if len(geometries) else geometries
        if boundary_px > 0:
            geometries = geometries.boundary.buffer(boundary_px / 2, cap_style="flat")
        else:
            geometries = _thicken(geometries, line_width_px)
        self.frame = gpd.GeoDataFrame(geometry=geometries.reset_index(drop=True), crs=None)
        self.width, self.height = width, height
        self.line_width_px = line_width_px
        self.boundary_px = boundary_px

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        known = np.zeros((window.height, window.width), bool)
        clipped = clip_window(window, self.width, self.height)
        if clipped is not None:
            known[clipped[1]] = True
        box = shapely.box(window.col_off, window.row_off, window.col_off + window.width, window.row_off + window.height)
        hits = self.frame.iloc[self.frame.sindex.query(box, predicate="intersects")] if len(self.frame) else self.frame
        mask = rasterize_vectors(
            hits,
            transform=Affine.translation(window.col_off, window.row_off),
            width=window.width,
            height=window.height,
            all_touched=self.line_width_px > 0,
        )
        return mask * known, known
