from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geovision.errors import NodataError, OutputExistsError
from geovision.io.cog import StreamingCogWriter, cog_problems, validate_cog, write_cog
from geovision.io.windows import plan_windows
from geovision.types import PixelWindow
from tests.rasters import ORIGIN, write_geotiff

TRANSFORM = Affine(0.5, 0, ORIGIN[0], 0, -0.5, ORIGIN[1])


def classes(height: int = 1100, width: int = 1300) -> np.ndarray:
    rows, cols = np.indices((height, width))
    return ((rows // 37 + cols // 53) % 3).astype(np.uint8)


def leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_mask_cog_with_colour_table_and_nearest_overviews(tmp_path):
    mask = classes()
    path = write_cog(
        tmp_path / "mask.tif",
        mask,
        transform=TRANSFORM,
        crs="EPSG:32615",
        nodata=255,
        kind="mask",
        colormap={0: (0, 0, 0), 1: (255, 0, 0), 2: (0, 0, 255)},
        band_names=["class"],
    )
    assert validate_cog(path) and cog_problems(path) == []
    with rasterio.open(path) as src:
        assert (src.block_shapes[0], src.compression.name, src.nodata) == ((512, 512), "deflate", 255)
        assert src.overviews(1) == [2, 4]
        assert set(np.unique(src.read(1, out_shape=(275, 325)))) <= {0, 1, 2}  # nearest: no blended classes
        assert src.colormap(1)[1] == (255, 0, 0, 255) and src.descriptions == ("class",)
        np.testing.assert_array_equal(src.read(1), mask)
        assert src.transform == TRANSFORM and src.crs.to_epsg() == 32615


def test_streaming_writer_continuous_with_mask_and_zstd(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.normal(size=(2, 700, 900)).astype(np.float32)
    valid = rng.random((700, 900)) > 0.1
    with StreamingCogWriter(
        tmp_path / "prob.tif",
        width=900,
        height=700,
        count=2,
        dtype="float32",
        transform=TRANSFORM,
        crs="EPSG:32615",
        nodata=None,
        kind="continuous",
        mask=True,
        compress="ZSTD",
    ) as writer:
        for chip in plan_windows(900, 700, chip_px=256, overlap_px=0):
            crop = chip.crop
            writer.write(crop, image[:, crop.row_slice, crop.col_slice], valid=valid[crop.row_slice, crop.col_slice])
    assert validate_cog(tmp_path / "prob.tif")
    with rasterio.open(tmp_path / "prob.tif") as src:
        assert src.compression.name == "zstd" and src.overviews(1) == [2]
        np.testing.assert_array_equal(src.read(), image)
        np.testing.assert_array_equal(src.dataset_mask() > 0, valid)
    assert leftovers(tmp_path) == []


def test_float_to_integer_output_is_rounded_and_clipped(tmp_path):
    values = np.array([[-3.0, 0.4, 0.6, 254.6, 300.0]], np.float32)
    with StreamingCogWriter(
        tmp_path / "u8.tif",
        width=5,
        height=1,
        count=1,
        dtype="uint8",
        transform=TRANSFORM,
        crs="EPSG:32615",
        nodata=None,
        kind="continuous",
    ) as writer:
        writer.write((0, 0, 5, 1), values)
    with rasterio.open(tmp_path / "u8.tif") as src:
        assert src.read(1).tolist() == [[0, 0, 1, 255, 255]]


def test_failure_inside_the_block_keeps_the_old_output(tmp_path):
    path = write_cog(
        tmp_path / "out.tif", classes(64, 64), transform=TRANSFORM, crs="EPSG:32615", nodata=None, kind="mask"
    )
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with StreamingCogWriter(
            path,
            width=64,
            height=64,
            count=1,
            dtype="uint8",
            transform=TRANSFORM,
            crs="EPSG:32615",
            nodata=None,
            kind="mask",
            overwrite=True,
        ) as writer:
            writer.write((0, 0, 64, 64), np.ones((64, 64), np.uint8))
            raise RuntimeError("boom")
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_existing_output_needs_overwrite(tmp_path):
    path = write_cog(
        tmp_path / "out.tif", classes(16, 16), transform=TRANSFORM, crs="EPSG:32615", nodata=None, kind="mask"
    )
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="out.tif.*--overwrite"):
        write_cog(path, np.zeros((16, 16), np.uint8), transform=TRANSFORM, crs="EPSG:32615", nodata=None, kind="mask")
    assert path.read_bytes() == before
    write_cog(
        path,
        np.ones((16, 16), np.uint8),
        transform=TRANSFORM,
        crs="EPSG:32615",
        nodata=None,
        kind="mask",
        overwrite=True,
    )
    assert path.read_bytes() != before and leftovers(tmp_path) == []


def test_bad_writer_arguments(tmp_path):
    common = dict(transform=TRANSFORM, crs="EPSG:32615", kind="mask")
    with pytest.raises(NodataError, match="nodata -1"):
        write_cog(tmp_path / "a.tif", classes(8, 8), nodata=-1, **common)
    with pytest.raises(ValueError, match="colour table"):
        write_cog(tmp_path / "b.tif", np.zeros((2, 8, 8), np.uint8), nodata=None, colormap={0: (0, 0, 0)}, **common)
    with StreamingCogWriter(
        tmp_path / "c.tif", width=8, height=8, count=1, dtype="uint8", nodata=None, **common
    ) as writer:
        with pytest.raises(ValueError, match="outside"):
            writer.write((4, 4, 8, 8), np.zeros((8, 8), np.uint8))
        with pytest.raises(ValueError, match="does not fit"):
            writer.write((0, 0, 8, 8), np.zeros((4, 4), np.uint8))
        writer.write((0, 0, 8, 8), np.zeros((8, 8), np.uint8))
    assert leftovers(tmp_path) == []


def test_a_plain_striped_tiff_is_not_a_cog(tmp_path):
    path = tmp_path / "striped.tif"
    write_geotiff(path, classes(), transform=TRANSFORM, tiled=False)
    assert not validate_cog(path) and cog_problems(path)


def test_predictor_only_for_floats_and_compression_level(tmp_path):
    """8-bit probabilities: no predictor, fast DEFLATE level; float rasters keep the floating-point predictor."""
    rng = np.random.default_rng(1)
    outputs = {}
    for name, dtype, level in (("prob", "uint8", 1), ("prob6", "uint8", None), ("dii", "float32", None)):
        values = rng.integers(0, 255, (700, 900)) if dtype == "uint8" else rng.random((700, 900))
        with StreamingCogWriter(
            tmp_path / f"{name}.tif",
            width=900,
            height=700,
            count=1,
            dtype=dtype,
            transform=TRANSFORM,
            crs="EPSG:32615",
            nodata=None,
            kind="continuous",
            level=level,
        ) as writer:
            writer.write(PixelWindow(0, 0, 900, 700), values.astype(dtype))
        outputs[name] = tmp_path / f"{name}.tif"
        assert validate_cog(outputs[name])
        with rasterio.open(outputs[name]) as src:
            structure = src.tags(ns="IMAGE_STRUCTURE")
            assert src.compression.name == "deflate"
            assert structure.get("PREDICTOR") == ("3" if dtype == "float32" else None)
            np.testing.assert_array_equal(src.read(1), values.astype(dtype))
    assert outputs["prob"].stat().st_size >= outputs["prob6"].stat().st_size  # level 1 trades size for speed
