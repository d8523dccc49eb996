"""Grid: equality within a tolerance, clear same-grid errors, tiles and cells."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from geovision.errors import ConfigError, GeovisionError
from geovision.impact.grid import cell_pixel_counts, cell_transform
from geovision.impact.grid import n_cells as impact_n_cells
from geovision.io.align import Grid as AlignGrid
from geovision.io.grid import Grid
from geovision.io.windows import plan_windows
from geovision.types import PixelWindow
from tests.rasters import UTM, north_up, write_geotiff

T = north_up(0.5)
G = Grid(CRS.from_string(UTM), T, 300, 200)


def test_align_reexports_the_grid():
    assert AlignGrid is Grid


def test_from_dataset_and_properties(tmp_path):
    path = write_geotiff(tmp_path / "a.tif", np.zeros((200, 300), np.uint8))
    with rasterio.open(path) as ds:
        grid = Grid.from_dataset(ds)
    assert grid == G and grid.shape == (200, 300) and grid.res_m == 0.5
    assert grid.bounds == (T.c, T.f - 100, T.c + 150, T.f)
    assert pickle.loads(pickle.dumps(grid)) == grid and hash(grid) == hash(G)


def test_equal_within_tolerance_not_beyond():
    tiny = Grid(G.crs, T @ Affine.translation(1e-8, -1e-8), 300, 200)
    assert tiny == G and G.same_as(tiny) and G.difference(tiny) is None
    assert Grid(G.crs, T @ Affine.translation(1e-3, 0), 300, 200) != G
    assert Grid(G.crs, T @ Affine.translation(1e-3, 0), 300, 200).same_as(G, tolerance=1e-2)
    scaled = Grid(G.crs, Affine(0.5 * (1 + 1e-9), 0, T.c, 0, -0.5, T.f), 300, 200)  # < 1e-6 px at the far edge
    assert scaled == G
    assert G != "a grid" and G != Grid(G.crs, north_up(0.5 * (1 + 1e-6)), 300, 200)


def test_missing_crs_matches_any_crs():
    assert Grid(None, T, 300, 200) == G
    assert Grid(CRS.from_epsg(32616), T, 300, 200) != G


def _error(other: Grid) -> str:
    with pytest.raises(ConfigError) as info:
        G.check_same(other, names=("pre", "post"), paths=("pre.tif", "post.tif"))
    assert isinstance(info.value, GeovisionError) and info.value.exit_code == 2
    text = str(info.value)
    assert "\n" not in text and "pre pre.tif and post post.tif are not on one grid" in text
    assert "geovision align" in text
    return text


def test_half_pixel_shift_is_a_clear_error():
    text = _error(Grid(G.crs, T @ Affine.translation(0.5, 0), 300, 200))
    assert "pixel offset (+0.5, +0) px" in text


def test_other_crs_is_a_clear_error():
    assert "CRS EPSG:32615 vs EPSG:32616" in _error(Grid(CRS.from_epsg(32616), T, 300, 200))


def test_other_size_is_a_clear_error():
    text = _error(Grid(G.crs, T, 301, 200))
    assert "size 300x200 vs 301x200 px" in text and "offset" not in text


def test_other_pixel_size_and_several_differences():
    text = _error(Grid(CRS.from_epsg(32616), north_up(1.0), 150, 100))
    assert "CRS" in text and "size" in text and "pixel size 0.5 x -0.5 vs 1 x -1" in text


def test_check_same_without_paths_and_with_same_grid():
    G.check_same(Grid(None, T, 300, 200))
    with pytest.raises(ConfigError, match="a and b are not on one grid"):
        G.check_same(Grid(G.crs, T, 1, 1))


def _covered(tiles: list, width: int, height: int) -> np.ndarray:
    count = np.zeros((height, width), int)
    for tile in tiles:
        count[tile.crop.row_slice, tile.crop.col_slice] += 1
    return count


@pytest.mark.parametrize(("size", "overlap", "multiple"), [(64, 0, 1), (64, 16, 1), (100, 0, 30), (64, 17, 8)])
def test_tiles_cover_the_grid_exactly_once(size, overlap, multiple):
    tiles = G.tiles(size, overlap=overlap, multiple=multiple)
    assert (_covered(tiles, G.width, G.height) == 1).all()
    for tile in tiles:
        read, crop, inside = tile
        assert crop.col_off % multiple == 0 and crop.row_off % multiple == 0
        assert read.width == read.height >= size and read.width - overlap >= crop.width
        assert (read.col_off + inside.col_off, read.row_off + inside.row_off) == (crop.col_off, crop.row_off)


def test_tiles_are_the_windows_of_the_old_tilers():
    assert G.tiles(128, overlap=32) == plan_windows(300, 200, chip_px=128, overlap_px=32)
    # the impact tiler: the step rounded up to whole cells, tiles clipped to the grid
    crops = [t.crop for t in G.tiles(100, multiple=30)]
    assert crops[:3] == [PixelWindow(0, 0, 120, 120), PixelWindow(120, 0, 120, 120), PixelWindow(240, 0, 60, 120)]
    assert crops[-1] == PixelWindow(240, 120, 60, 80) and len(crops) == 6
    assert Grid(None, T, 0, 10).tiles(64) == []


def test_bad_tiles_are_config_errors():
    for kwargs in (dict(size=0), dict(size=64, overlap=64), dict(size=64, multiple=0)):
        with pytest.raises(ConfigError):
            G.tiles(**kwargs)


def test_cells_with_partial_edge_cells():
    cells = G.cells(64)
    assert (cells.width, cells.height) == (5, 4) == (impact_n_cells(300, 64), impact_n_cells(200, 64))
    assert cells.transform == cell_transform(T, 64) == Affine(32.0, 0, T.c, 0, -32.0, T.f)
    assert cells.shape == cell_pixel_counts(G.shape, 64).shape and cells.crs == G.crs
    assert cells.bounds.xmax > G.bounds.xmax  # the partial last column of cells reaches past the grid
    assert G.cells(1) == G and G.cells(100).shape == (2, 3)
    for bad in (0, 2.5):
        with pytest.raises(ConfigError):
            G.cells(bad)  # type: ignore[arg-type]


def _old_impact_tiles(width: int, height: int, size_px: int, multiple: int) -> list[PixelWindow]:
    """``impact.sources.aligned_windows`` (and, with ``multiple=1``, ``synth.writer.windows``) before Grid."""
    step = -(-size_px // multiple) * multiple
    return [
        PixelWindow(col, row, min(step, width - col), min(step, height - row))
        for row in range(0, height, step)
        for col in range(0, width, step)
    ]


@pytest.mark.parametrize(
    ("width", "height", "size", "multiple"), [(300, 200, 64, 1), (1000, 7, 512, 1), (513, 1025, 100, 7)]
)
def test_plain_tiles_are_the_old_impact_and_synth_tiles(width, height, size, multiple):
    from geovision.impact.sources import aligned_windows

    grid = Grid(None, T, width, height)
    expected = _old_impact_tiles(width, height, size, multiple)
    assert [t.crop for t in grid.tiles(size, multiple=multiple)] == expected
    assert list(aligned_windows(width, height, size_px=size, multiple=multiple)) == expected
