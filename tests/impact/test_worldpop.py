"""WorldPop Indonesia: a density raster from the building-count raster sums back to each unit's ``pop``."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from rasterio import features
from rasterio.windows import Window

from geovision.cli.main import cli

pytestmark = pytest.mark.realdata

FOLDER = "worldpop_pypoprf_indonesia"


def _run(census, counts, tmp_path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, object]:
    out, zones = tmp_path / "density.tif", tmp_path / "zones.tif"
    result = CliRunner().invoke(
        cli,
        [
            "population",
            "--census",
            str(census),
            "--buildings",
            str(counts),
            "--buildings-are",
            "count",
            "--res-m",
            "0",
            "--skip-missing-pop",
            "--zones-out",
            str(zones),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src, rasterio.open(zones) as zsrc:
        assert np.isnan(src.nodata) and zsrc.nodata == -1 and src.transform == zsrc.transform
        return src.read(1), zsrc.read(1), pd.read_csv(tmp_path / "density_units.csv"), src.transform


def _check(density: np.ndarray, zones: np.ndarray, table: pd.DataFrame, units: gpd.GeoDataFrame, transform) -> None:
    known = table["pop"].notna().to_numpy()
    # the written raster, summed over each unit's pixels, gives back the unit's count
    inside = zones >= 0
    sums = np.bincount(zones[inside], np.nan_to_num(density[inside].astype(np.float64)), minlength=len(table))
    np.testing.assert_allclose(sums[known], table["pop"][known], rtol=1e-6)
    np.testing.assert_allclose(table["allocated"][known], table["pop"][known], rtol=1e-6)
    assert np.isnan(density[inside][~known[zones[inside]]]).all()  # units without a count are unknown
    assert np.isnan(density[~inside]).all()  # outside every unit: nodata, not 0
    # independent check with the polygons themselves (they overlap a little in this data set)
    rel = []
    for i in np.flatnonzero(known):
        geom = units.geometry.iloc[i]
        win = rasterio.windows.from_bounds(*geom.bounds, transform=transform)
        r0, c0 = max(int(win.row_off), 0), max(int(win.col_off), 0)
        r1 = min(int(np.ceil(win.row_off + win.height)) + 1, density.shape[0])
        c1 = min(int(np.ceil(win.col_off + win.width)) + 1, density.shape[1])
        if r1 <= r0 or c1 <= c0:
            continue
        mask = features.geometry_mask(
            [geom], out_shape=(r1 - r0, c1 - c0), invert=True, transform=transform @ rasterio.Affine.translation(c0, r0)
        )
        if mask.sum() >= 16:
            rel.append(abs(np.nansum(density[r0:r1, c0:c1][mask]) - table["pop"][i]) / max(table["pop"][i], 1.0))
    assert len(rel) >= 0.5 * known.sum()
    assert np.median(rel) < 0.01


def test_density_from_building_counts_sums_back_to_units(shared_data, tmp_path):
    folder = shared_data / FOLDER
    with rasterio.open(folder / "test_buildingCount.tif") as src:
        window = Window(5500, 7250, 500, 500)
        counts = src.read(1, window=window)
        transform = src.window_transform(window)
        profile = src.profile | {"width": 500, "height": 500, "transform": transform}
    crop = tmp_path / "counts.tif"
    with rasterio.open(crop, "w", **profile) as dst:
        dst.write(counts, 1)
    units = gpd.read_file(folder / "test_admin3.gpkg")
    units = units[units.within(shapely.box(*rasterio.transform.array_bounds(500, 500, transform)))]
    units = units.reset_index(drop=True)
    assert len(units) >= 50
    units.to_file(tmp_path / "units.gpkg")
    density, zones, table, out_transform = _run(tmp_path / "units.gpkg", crop, tmp_path)
    assert out_transform == transform
    assert (table["method"] == "buildings").sum() >= 40
    _check(density, zones, table, units, transform)


@pytest.mark.slow
def test_full_worldpop_set(shared_data, tmp_path):
    folder = shared_data / FOLDER
    density, zones, table, transform = _run(folder / "test_admin3.gpkg", folder / "test_buildingCount.tif", tmp_path)
    assert (table["method"] == "missing").sum() == 2  # two units have no count in the data
    _check(density, zones, table, gpd.read_file(folder / "test_admin3.gpkg"), transform)
