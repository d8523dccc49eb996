"""Seeded raster fixtures for the io tests."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.rasters import ORIGIN, write_geotiff

#: the io tests' inputs are tiled in 64 px blocks and DEFLATE-compressed, as real imagery is
#: (:func:`corrupt_tile` breaks one block)
write_raster = functools.partial(write_geotiff, block_px=64, compress="deflate")


def random_image(
    seed: int, shape: tuple[int, int, int] = (3, 96, 128), dtype: str = "uint8", high: int = 250
) -> np.ndarray:
    """Seeded random values in [1, high] (never 0, so 'nodata = 0' bugs show up)."""
    return np.random.default_rng(seed).integers(1, high + 1, shape).astype(dtype)


def corrupt_tile(path: Path, col: int = 1, row: int = 1) -> Path:
    """Overwrite the compressed bytes of one inner tile with garbage (the file still opens)."""
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1))
    data = bytearray(path.read_bytes())
    data[offset : offset + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    return path


def bad_nodata_vrt(tmp_path: Path, source: Path, nodata: str) -> Path:
    """A VRT declaring a nodata value outside its Byte band's range (GDAL accepts it, rasterio hides it)."""
    vrt = tmp_path / "bad_nodata.vrt"
    vrt.write_text(f"""<VRTDataset rasterXSize="128" rasterYSize="96"><SRS>EPSG:32615</SRS>
<GeoTransform>{ORIGIN[0]}, 0.5, 0, {ORIGIN[1]}, 0, -0.5</GeoTransform>
<VRTRasterBand dataType="Byte" band="1"><NoDataValue>{nodata}</NoDataValue>
<SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
</VRTRasterBand></VRTDataset>""")
    return vrt


@pytest.fixture()
def image_tif(tmp_path: Path) -> Path:
    """A 3-band uint8 96x128 GeoTIFF at 0.5 m in UTM 15N, no nodata."""
    return write_raster(tmp_path / "image.tif", random_image(0))
