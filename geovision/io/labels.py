"""Label readers: xBD JSON, mask PNGs; georeferencing xBD PNGs; rasterising vectors."""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from geovision.errors import CorruptFileError, GeoreferenceError
from geovision.io.cog import write_cog
from geovision.io.crs import utm_crs_for
from geovision.io.paths import check_input_file

log = logging.getLogger(__name__)

XBD_COLUMNS = ["uid", "feature_type", "subtype", "geometry", "geometry_lnglat"]
MAX_FIT_RMS_PX = 2.0  # an xBD label file whose pixel/lon-lat pairs disagree more than this is rejected


def _load_json(path: str | os.PathLike[str]) -> dict:
    check_input_file(path, kind="label file")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptFileError(
            f"not valid JSON ({error})", path=path, fix="re-download the label file; it is truncated or not JSON"
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("features"), dict):
        raise CorruptFileError(
            "not an xBD label file (no 'features' object with 'xy' and 'lng_lat')",
            path=path,
            fix="give an xBD/xView2 label JSON",
        )
    return document


def _parse_features(items: list, path: str | os.PathLike[str], key: str) -> dict[str, tuple[dict, object]]:
    parsed: dict[str, tuple[dict, object]] = {}
    for number, item in enumerate(items):
        props = item.get("properties", {}) if isinstance(item, dict) else {}
        try:
            geometry = shapely.from_wkt(item["wkt"])
        except (KeyError, TypeError, shapely.errors.GEOSException) as error:
            raise CorruptFileError(
                f"feature {number} of '{key}' has no valid WKT ({error})", path=path, fix="re-download the label file"
            ) from error
        parsed[str(props.get("uid", f"{key}-{number}"))] = (props, geometry)
    return parsed


def read_xbd_json(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """An xBD label file as a GeoDataFrame in pixel coordinates (no CRS).

    Columns: ``uid``, ``feature_type``, ``subtype`` (damage class, None on pre-disaster
    files), ``geometry`` (pixels, x right, y down) and ``geometry_lnglat`` (shapely, EPSG:4326).
    """
    document = _load_json(path)
    features = document["features"]
    pixel = _parse_features(features.get("xy", []), path, "xy")
    lnglat = _parse_features(features.get("lng_lat", []), path, "lng_lat")
    rows = []
    for uid, (props, geometry) in pixel.items():
        subtype = props.get("subtype")
        rows.append(
            {
                "uid": uid,
                "feature_type": props.get("feature_type"),
                "subtype": None if subtype in (None, "", "no-subtype") else subtype,
                "geometry": geometry,
                "geometry_lnglat": lnglat.get(uid, (None, None))[1],
            }
        )
    frame = gpd.GeoDataFrame(rows, columns=XBD_COLUMNS, geometry="geometry", crs=None)
    frame.attrs["metadata"] = document.get("metadata", {})
    return frame


@dataclass(frozen=True)
class AffineFit:
    """A least-squares pixel -> map affine and how well the vertex pairs agree with it."""

    transform: Affine
    crs: CRS
    rms_m: float
    max_m: float
    n_points: int


def fit_pixel_affine(pixel_xy: np.ndarray, map_xy: np.ndarray) -> tuple[Affine, np.ndarray]:
    """Least-squares affine from ``[n, 2]`` pixel (col, row) to map (x, y); returns it and the residuals (map units)."""
    design = np.column_stack([pixel_xy, np.ones(len(pixel_xy))])
    coef_x, *_ = np.linalg.lstsq(design, map_xy[:, 0], rcond=None)
    coef_y, *_ = np.linalg.lstsq(design, map_xy[:, 1], rcond=None)
    transform = Affine(*coef_x, *coef_y)
    residual = np.hypot(design @ coef_x - map_xy[:, 0], design @ coef_y - map_xy[:, 1])
    return transform, residual


def _vertex_pairs(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    pixel, lnglat = [], []
    for geometry, geometry_ll in zip(frame.geometry, frame["geometry_lnglat"], strict=True):
        if geometry is None or geometry_ll is None:
            continue
        a, b = shapely.get_coordinates(geometry), shapely.get_coordinates(geometry_ll)
        if len(a) == len(b):
            pixel.append(a)
            lnglat.append(b)
    if not pixel:
        return np.empty((0, 2)), np.empty((0, 2))
    return np.concatenate(pixel), np.concatenate(lnglat)


def xbd_affine_fit(path: str | os.PathLike[str]) -> AffineFit:
    """Fit the tile's pixel -> UTM affine from an xBD label file's pixel / lon-lat vertex pairs."""
    pixel, lnglat = _vertex_pairs(read_xbd_json(path))
    if len(pixel) < 3 or np.linalg.matrix_rank(np.column_stack([pixel, np.ones(len(pixel))])) < 3:
        raise GeoreferenceError(
            f"label file has {len(pixel)} usable pixel/lon-lat vertex pairs, too few "
            "(or all on one line) to fit an affine",
            path=path,
            fix="use the label file of the same tile's other date (pre/post), which may have buildings",
        )
    lon, lat = lnglat.mean(axis=0)
    crs = utm_crs_for(float(lon), float(lat))
    east, north = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lnglat[:, 0], lnglat[:, 1])
    transform, residual = fit_pixel_affine(pixel, np.column_stack([east, north]))
    fit = AffineFit(transform, crs, float(np.sqrt(np.mean(residual**2))), float(residual.max()), len(pixel))
    pixel_m = float(np.sqrt(abs(transform.determinant)))
    log.info("%s: affine fit on %d vertices, rms %.3f m, max %.3f m", path, fit.n_points, fit.rms_m, fit.max_m)
    if fit.rms_m > MAX_FIT_RMS_PX * pixel_m:
        raise GeoreferenceError(
            f"pixel and lon/lat label coordinates disagree (affine fit rms {fit.rms_m:.2f} m "
            f"over {fit.n_points} vertices)",
            path=path,
            fix="the label file is inconsistent; use another tile or the original xBD release",
        )
    return fit


def fit_xbd_affine(path: str | os.PathLike[str]) -> tuple[Affine, CRS]:
    """The pixel -> UTM affine and UTM CRS of an xBD tile, fitted on its label file (residual is logged)."""
    fit = xbd_affine_fit(path)
    return fit.transform, fit.crs


def _read_plain_image(path: str | os.PathLike[str]) -> np.ndarray:
    """All bands of a small image (PNG/JPEG/TIFF) as ``[bands, h, w]``, georeference ignored."""
    check_input_file(path, kind="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                return dataset.read()
    except RasterioIOError as error:
        raise CorruptFileError(
            f"not a readable image ({error})", path=path, fix="re-download or re-export the image"
        ) from error


def georeference_png(
    png_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write an xBD PNG as a georeferenced COG using the affine fitted on its label file."""
    fit = xbd_affine_fit(json_path)
    image = _read_plain_image(png_path)
    meta = read_xbd_json(json_path).attrs.get("metadata", {})
    expected = (meta.get("height"), meta.get("width"))
    if None not in expected and tuple(image.shape[1:]) != expected:
        raise GeoreferenceError(
            f"image is {image.shape[2]}x{image.shape[1]} but its label file describes {expected[1]}x{expected[0]}",
            path=png_path,
            fix=f"pair the image with its own label file (not {json_path})",
        )
    write_cog(
        out_path, image, transform=fit.transform, crs=fit.crs, nodata=None, kind="continuous", overwrite=overwrite
    )
    return Path(out_path)


def read_mask_png(path: str | os.PathLike[str], *, threshold: int = 127) -> np.ndarray:
    """A mask image as bool ``[h, w]``: True where any band is above ``threshold``."""
    return np.asarray((_read_plain_image(path) > threshold).any(axis=0))


def rasterize_vectors(
    gdf: gpd.GeoDataFrame, *, transform: Affine, width: int, height: int, all_touched: bool = False, burn: int | str = 1
) -> np.ndarray:
    """Burn geometries into a ``uint8 [height, width]`` array (0 elsewhere); ``burn`` is a value or a column."""
    mask = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    geometries = gdf.geometry[mask]
    values = gdf.loc[mask, burn] if isinstance(burn, str) else [burn] * len(geometries)
    shapes = [(geometry, int(value)) for geometry, value in zip(geometries, values, strict=True)]
    if not shapes:
        return np.zeros((height, width), np.uint8)
    return rasterio.features.rasterize(
        shapes, out_shape=(height, width), transform=transform, fill=0, all_touched=all_touched, dtype=np.uint8
    )
