from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from shapely.geometry import box

from geovision.errors import CorruptFileError, GeoreferenceError, MissingFileError
from geovision.io.cog import validate_cog
from geovision.io.labels import (
    fit_xbd_affine,
    georeference_png,
    rasterize_vectors,
    read_mask_png,
    read_xbd_json,
    xbd_affine_fit,
)
from geovision.io.raster import open_raster
from geovision.types import PixelWindow

# SOURCES.md: the three Joplin tiles' affines (UTM 15N), same y, origins west to east
JOPLIN_X = {0: 365823.81, 1: 366285.92, 2: 366748.03}
JOPLIN_Y, JOPLIN_RES = 4103219.95, 0.45128


def write_xbd_json(
    path: Path,
    transform: Affine,
    *,
    crs: str = "EPSG:32615",
    n: int = 5,
    size: int = 64,
    subtype: str | None = "destroyed",
) -> Path:
    """A synthetic xBD label file whose lon/lat polygons are the pixel polygons through ``transform``."""
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    xy, lnglat = [], []
    for i in range(n):
        pixel = box(3 + 11 * i, 5 + 7 * i, 9 + 11 * i, 12 + 7 * i)
        world = shapely.transform(
            pixel, lambda c: np.column_stack(to_lonlat.transform(*(transform @ (c[:, 0], c[:, 1]))))
        )
        props = {"feature_type": "building", "uid": f"b{i}", **({"subtype": subtype} if subtype else {})}
        xy.append({"properties": props, "wkt": pixel.wkt})
        lnglat.append({"properties": props, "wkt": world.wkt})
    path.write_text(
        json.dumps(
            {
                "features": {"lng_lat": lnglat, "xy": xy},
                "metadata": {"width": size, "height": size, "img_name": "x.png"},
            }
        )
    )
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    array = array[None] if array.ndim == 2 else array
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            path, "w", driver="PNG", width=array.shape[2], height=array.shape[1], count=array.shape[0], dtype="uint8"
        ) as dst:
            dst.write(array)
    return path


def test_fit_recovers_a_known_affine(tmp_path):
    truth = Affine(0.5, 0.01, 365800.0, -0.02, -0.5, 4103200.0)
    transform, crs = fit_xbd_affine(write_xbd_json(tmp_path / "t.json", truth))
    assert crs.to_epsg() == 32615
    assert transform.almost_equals(truth, precision=1e-6)


@pytest.mark.parametrize("tile", [0, 1, 2])
@pytest.mark.parametrize("date", ["pre", "post"])
@pytest.mark.realdata
def test_joplin_tiles_match_the_published_grid(shared_data, tile, date):
    labels = shared_data / "xbd_joplin_tornado" / "labels" / f"joplin-tornado_{tile:08d}_{date}_disaster.json"
    fit = xbd_affine_fit(labels)
    assert fit.crs.to_epsg() == 32615
    assert fit.rms_m < 0.01 and fit.n_points > 100  # the label's own lon/lat agree with the fit to < 1 cm
    published = Affine(JOPLIN_RES, 0, JOPLIN_X[tile], 0, -JOPLIN_RES, JOPLIN_Y)
    for corner in ((0, 0), (1024, 0), (0, 1024), (1024, 1024)):
        dx, dy = np.subtract(fit.transform @ corner, published @ corner)
        assert np.hypot(dx, dy) < 1.0, f"corner {corner} is {np.hypot(dx, dy):.2f} m off"


@pytest.mark.realdata
def test_georeference_a_joplin_png(shared_data, tmp_path):
    folder = shared_data / "xbd_joplin_tornado"
    out = georeference_png(
        folder / "images" / "joplin-tornado_00000002_pre_disaster.png",
        folder / "labels" / "joplin-tornado_00000002_pre_disaster.json",
        tmp_path / "tile2.tif",
    )
    assert validate_cog(out)
    src = open_raster(out)  # now a georeferenced raster
    assert (src.width, src.height, src.count, src.crs.to_epsg()) == (1024, 1024, 3, 32615)
    assert abs(src.transform.c - JOPLIN_X[2]) < 1 and abs(src.transform.f - JOPLIN_Y) < 1
    assert src.read(PixelWindow(0, 0, 16, 16))[1].all()


@pytest.mark.realdata
def test_read_xbd_json_columns(shared_data):
    labels = shared_data / "xbd_joplin_tornado" / "labels"
    post = read_xbd_json(labels / "joplin-tornado_00000000_post_disaster.json")
    assert list(post.columns) == ["uid", "feature_type", "subtype", "geometry", "geometry_lnglat"]
    assert post.crs is None and len(post) == 185 and post["uid"].is_unique
    assert {"destroyed", "major-damage", "no-damage"} <= set(post["subtype"])
    assert post.geometry.bounds.max().max() <= 1024 and post.geometry.bounds.min().min() > -1e-3
    lon, lat = post["geometry_lnglat"].iloc[0].centroid.coords[0]
    assert -95 < lon < -94 and 37 < lat < 38
    pre = read_xbd_json(labels / "joplin-tornado_00000000_pre_disaster.json")
    assert pre["subtype"].isna().all()


def test_label_file_errors(tmp_path):
    with pytest.raises(MissingFileError, match="no.json"):
        read_xbd_json(tmp_path / "no.json")
    (tmp_path / "cut.json").write_text('{"features": {"xy": [')
    with pytest.raises(CorruptFileError, match="cut.json.*not valid JSON"):
        read_xbd_json(tmp_path / "cut.json")
    (tmp_path / "other.json").write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(CorruptFileError, match="other.json.*not an xBD label file"):
        read_xbd_json(tmp_path / "other.json")
    empty = write_xbd_json(tmp_path / "empty.json", Affine(0.5, 0, 365800, 0, -0.5, 4103200), n=0)
    with pytest.raises(GeoreferenceError, match="empty.json.*too few.*other date"):
        fit_xbd_affine(empty)


def test_png_size_must_match_its_label_file(tmp_path):
    labels = write_xbd_json(tmp_path / "t.json", Affine(0.5, 0, 365800, 0, -0.5, 4103200), size=1024)
    png = write_png(tmp_path / "t.png", np.zeros((3, 64, 64), np.uint8))
    with pytest.raises(GeoreferenceError, match="t.png.*64x64.*1024x1024"):
        georeference_png(png, labels, tmp_path / "out.tif")
    assert not (tmp_path / "out.tif").exists()


def test_read_mask_png(tmp_path):
    mask = np.zeros((32, 48), np.uint8)
    mask[4:10, 5:20] = 255
    mask[20, 20] = 100
    assert read_mask_png(write_png(tmp_path / "m.png", mask)).sum() == 6 * 15
    assert read_mask_png(tmp_path / "m.png", threshold=50).sum() == 6 * 15 + 1
    rgb = np.zeros((3, 32, 48), np.uint8)
    rgb[1, 0, 0] = 255  # any band counts
    assert read_mask_png(write_png(tmp_path / "rgb.png", rgb)).sum() == 1
    with pytest.raises(MissingFileError):
        read_mask_png(tmp_path / "none.png")


@pytest.mark.realdata
def test_real_deepglobe_mask(shared_data):
    path = next((shared_data / "deepglobe_roads" / "train").glob("*_mask.png"))
    mask = read_mask_png(path)
    assert mask.dtype == bool and 0 < mask.mean() < 0.5


def test_rasterize_vectors():
    transform = Affine(0.5, 0, 0, 0, -0.5, 10)  # 20 x 20 px over 10 m
    frame = gpd.GeoDataFrame({"cls": [2, 3]}, geometry=[box(1, 1, 3, 3), box(5.1, 5.1, 5.2, 5.2)], crs=32615)
    burned = rasterize_vectors(frame, transform=transform, width=20, height=20)
    assert burned.dtype == np.uint8 and burned.sum() == 16  # the 2x2 m box is 4x4 px; the tiny one covers no centre
    touched = rasterize_vectors(frame, transform=transform, width=20, height=20, all_touched=True)
    assert touched.sum() > 16
    by_class = rasterize_vectors(frame, transform=transform, width=20, height=20, burn="cls", all_touched=True)
    assert set(np.unique(by_class)) == {0, 2, 3}
    assert not rasterize_vectors(frame.iloc[:0], transform=transform, width=20, height=20).any()
