"""The public Python API (issue 15.4): lazy top-level exports and ``open_run`` on a run folder, moved or not."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio

import geovision


def test_import_geovision_imports_no_torch_and_every_export_resolves():
    code = "import sys, geovision; assert 'torch' not in sys.modules; print(sorted(geovision.__all__))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in geovision.API:
        assert getattr(geovision, name) is not None
    with pytest.raises(AttributeError):
        geovision.no_such_thing  # noqa: B018


def test_open_run_gives_the_grid_vectors_units_and_figures(full_run, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(full_run, moved)
    results = geovision.open_run(moved)
    grid = results.grid("buildings")
    record = results.record
    assert grid.rio.crs is not None and {"dii", "impacted", "f", "c"} <= set(grid.data_vars)
    with rasterio.open(moved / "impact" / "buildings_impact.tif") as cog:  # read through the moved folder
        assert (grid.rio.width, grid.rio.height) == (cog.width, cog.height)
        assert grid.rio.transform() == cog.transform
        impacted = cog.read(list(cog.descriptions).index("impacted") + 1)
    assert int(np.nansum(grid["impacted"].values)) == int(np.nansum(impacted)) == results.figures["cells_impacted"]
    assert len(results.buildings) == record.stage("vectorize").figures["buildings_before"]
    assert results.buildings["lost"].sum() == results.figures["buildings_lost"]
    assert len(results.roads) > 0 and results.units is not None and "pop" in results.units
    assert str(results.path) in str(record.output("segment", "valid"))  # paths resolve where the folder now is


def test_the_dii_dataset_carries_spatial_ref(tmp_path):
    from geovision.impact.dii import compute_dii_grid
    from tests.rasters import north_up

    rng = np.random.default_rng(0)
    pre = (rng.random((64, 64)) > 0.5).astype(np.uint8)
    post = pre * (rng.random((64, 64)) > 0.3)
    ds = compute_dii_grid(pre, post, cell_px=16, transform=north_up(), crs="EPSG:32615")
    assert ds.rio.crs.to_epsg() == 32615 and ds.rio.transform() == north_up() * north_up().scale(16)
    ds["dii"].rio.to_raster(tmp_path / "dii.tif")
    with rasterio.open(tmp_path / "dii.tif") as written:
        assert written.crs.to_epsg() == 32615 and written.transform == ds.rio.transform()
        np.testing.assert_allclose(written.read(1), ds["dii"].values, equal_nan=True)
