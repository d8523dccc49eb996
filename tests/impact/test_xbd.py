"""xBD tiles mosaicked onto one grid: masks, truth polygons and images (synthetic label files)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geovision.errors import AlignmentError, ConfigError, GeoreferenceError
from geovision.impact.xbd import xbd_mosaic
from tests.io.test_labels import write_png, write_xbd_json

RES, X0, Y0 = 0.5, 365800.0, 4103200.0


def _tile(folder, name, col_px, *, subtype="destroyed", crs="EPSG:32615", value=1, png_px=64):
    transform = Affine(RES, 0, X0 + col_px * RES, 0, -RES, Y0)
    label = write_xbd_json(folder / f"ev_{name}_post_disaster.json", transform, crs=crs, subtype=subtype, n=3)
    for date, offset in (("pre", 0), ("post", 100)):
        write_png(folder / f"ev_{name}_{date}_disaster.png", np.full((3, png_px, png_px), value + offset, np.uint8))
    return label


def test_tiles_side_by_side(tmp_path):
    labels = [_tile(tmp_path, "0001", 0, value=1), _tile(tmp_path, "0002", 64, subtype="minor-damage", value=2)]
    mosaic = xbd_mosaic(labels, images=tmp_path)
    assert mosaic.pre.shape == mosaic.post.shape == (64, 128) and mosaic.crs.to_epsg() == 32615
    assert mosaic.transform.almost_equals(Affine(RES, 0, X0, 0, -RES, Y0), precision=1e-6)
    assert mosaic.transform.b == mosaic.transform.d == 0  # north-up
    assert mosaic.pre[:, :64].sum() == mosaic.pre[:, 64:].sum() > 0
    assert mosaic.post[:, :64].sum() == 0 and np.array_equal(mosaic.post[:, 64:], mosaic.pre[:, 64:])  # lost: destroyed
    assert list(mosaic.buildings.columns) == ["uid", "tile", "subtype", "geometry", "lost"]
    assert mosaic.buildings.crs.to_epsg() == 4326
    assert mosaic.buildings.groupby("tile")["lost"].all().to_dict() == {"0001": True, "0002": False}
    assert mosaic.pre_image is not None and mosaic.post_image is not None
    assert mosaic.pre_image.shape == (3, 64, 128)
    assert (mosaic.pre_image[:, :, :64] == 1).all() and (mosaic.pre_image[:, :, 64:] == 2).all()
    assert (mosaic.post_image[:, :, :64] == 101).all()
    masks_only = xbd_mosaic(labels)
    assert masks_only.pre_image is None and np.array_equal(masks_only.pre, mosaic.pre)


def test_the_first_tile_wins_where_tiles_overlap(tmp_path):
    labels = [_tile(tmp_path, "0001", 32, value=1), _tile(tmp_path, "0002", 0, value=2)]
    mosaic = xbd_mosaic(labels, images=tmp_path)
    assert mosaic.pre_image is not None and mosaic.pre_image.shape == (3, 64, 96)
    assert mosaic.transform.c == pytest.approx(X0)  # the grid starts at the west-most tile
    assert (mosaic.pre_image[:, :, :32] == 2).all() and (mosaic.pre_image[:, :, 32:] == 1).all()


def test_mosaic_errors(tmp_path):
    with pytest.raises(ConfigError):
        xbd_mosaic([])
    other_zone = [_tile(tmp_path, "0001", 0), _tile(tmp_path, "0002", 64, crs="EPSG:32616")]
    with pytest.raises(AlignmentError, match="UTM zone"):
        xbd_mosaic(other_zone)
    with pytest.raises(GeoreferenceError, match="32x32.*64x64"):
        xbd_mosaic([_tile(tmp_path, "0003", 0, png_px=32)], images=tmp_path)


def test_one_tile_as_a_geotiff_written_once(tmp_path):
    import rasterio

    from geovision.impact.xbd import xbd_tile_geotiff

    _tile(tmp_path, "0001", 10, value=7)
    write_xbd_json(tmp_path / "ev_0001_pre_disaster.json", Affine(RES, 0, X0 + 10 * RES, 0, -RES, Y0), n=3)
    out = tmp_path / "tiles"
    path = xbd_tile_geotiff("ev_0001_pre_disaster", images=tmp_path, labels=tmp_path, out_dir=out)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32615 and src.count == 3 and int(src.read(1)[0, 0]) == 7
        assert src.transform.almost_equals(Affine(RES, 0, X0 + 10 * RES, 0, -RES, Y0), precision=1e-3)
    stamp = path.stat().st_mtime_ns
    assert xbd_tile_geotiff("ev_0001_pre_disaster", images=tmp_path, labels=tmp_path, out_dir=out) == path
    assert path.stat().st_mtime_ns == stamp
