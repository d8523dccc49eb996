"""Seeded raster fixtures for the io tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

UTM = "EPSG:32615"  # Joplin's zone
ORIGIN = (365_800.0, 4_103_200.0)


def write_raster(path: Path, array: np.ndarray, *, crs: str | None = UTM, transform: Affine | None = None,
                 nodata: float | None = None, alpha: np.ndarray | None = None, mask: np.ndarray | None = None,
                 block_px: int = 64) -> Path:
    """Write ``[bands, h, w]`` as a tiled GeoTIFF; ``alpha`` adds an alpha band, ``mask`` an internal mask."""
    array = array[None] if array.ndim == 2 else array
    count, height, width = array.shape
    extra = {"photometric": "RGB", "alpha": "YES"} if alpha is not None and count == 3 else {}
    profile = dict(driver="GTiff", width=width, height=height, count=count + (alpha is not None),
                   dtype=array.dtype.name, crs=crs, nodata=nodata, tiled=True, blockxsize=block_px,
                   blockysize=block_px, compress="deflate",
                   transform=transform if transform is not None else Affine(0.5, 0, ORIGIN[0], 0, -0.5, ORIGIN[1]), **extra)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as dst:
        dst.write(array, list(range(1, count + 1)))
        if alpha is not None:
            dst.write(alpha.astype(array.dtype), count + 1)
            if not extra:
                dst.colorinterp = [*dst.colorinterp[:-1], rasterio.enums.ColorInterp.alpha]
        if mask is not None:
            dst.write_mask(np.where(mask, 255, 0).astype(np.uint8))
    return path


def random_image(seed: int, shape: tuple[int, int, int] = (3, 96, 128), dtype: str = "uint8",
                 high: int = 250) -> np.ndarray:
    """Seeded random values in [1, high] (never 0, so 'nodata = 0' bugs show up)."""
    return np.random.default_rng(seed).integers(1, high + 1, shape).astype(dtype)


def corrupt_tile(path: Path, col: int = 1, row: int = 1) -> Path:
    """Overwrite the compressed bytes of one inner tile with garbage (the file still opens)."""
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1))
    data = bytearray(path.read_bytes())
    data[offset:offset + 64] = bytes(range(64))
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
