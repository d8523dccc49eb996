import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from geovision.errors import ConfigError
from geovision.impact.population import (
    METHOD_AREAL,
    METHOD_BUILDINGS,
    METHOD_MISSING,
    PolygonZones,
    RasterZones,
    allocate,
    coarsen_factor,
    density_array,
    pixel_area_m2,
    population_raster,
)
from geovision.impact.sources import ArraySource
from geovision.types import PixelWindow
from tests.rasters import write_geotiff

from .conftest import TRANSFORM, UTM, blocks_mask


def _units(rng, n_cols=3, n_rows=2, size_m=40.0, crs=UTM):
    """A grid of rectangular admin units over the raster, with random populations."""
    x0, y0 = TRANSFORM.c, TRANSFORM.f
    boxes = [
        shapely.box(x0 + c * size_m, y0 - (r + 1) * size_m, x0 + (c + 1) * size_m, y0 - r * size_m)
        for r in range(n_rows)
        for c in range(n_cols)
    ]
    return gpd.GeoDataFrame(
        {"admin_id": range(len(boxes)), "pop": rng.integers(0, 5000, len(boxes)).astype(float)}, geometry=boxes, crs=UTM
    ).to_crs(crs)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["pixel", "area"]), st.integers(1, 9), st.booleans())
def test_unit_totals_are_preserved(seed, weighting, factor, reprojected):
    rng = np.random.default_rng(seed)
    shape = (160, 240)  # 80 m x 120 m at 0.5 m: 2 x 3 units of 40 m
    mask = blocks_mask(shape, rng, n=int(rng.integers(0, 40)), size=int(rng.integers(2, 15)))
    units = _units(rng, crs="EPSG:4326" if reprojected else UTM)
    zones = PolygonZones(units, pop_field="pop", crs=UTM)
    source = ArraySource(mask, TRANSFORM, UTM)
    allocation = allocate(zones, source, weighting=weighting, window_px=int(rng.integers(17, 200)))
    out, _, allocated = density_array(allocation, source, res_m=0.5 * factor, window_px=64)
    np.testing.assert_allclose(allocated, units["pop"], rtol=1e-6, atol=1e-6)
    assert np.nansum(out) == pytest.approx(units["pop"].sum(), rel=1e-6, abs=1e-6)
    table = allocation.table()
    assert set(table["method"]) <= {METHOD_BUILDINGS, METHOD_AREAL}
    # persons sit only on building pixels in units with buildings
    persons, ids = allocation.persons(mask, np.ones(shape, bool), PixelWindow(0, 0, shape[1], shape[0]))
    by_buildings = table["method"].to_numpy()[ids] == METHOD_BUILDINGS
    assert np.all(persons[by_buildings & (mask == 0)] == 0)


def test_areal_fallback_is_flagged_and_uniform():
    rng = np.random.default_rng(1)
    mask = np.zeros((160, 240), np.uint8)
    mask[10:20, 10:20] = 1  # buildings only in unit 0
    units = _units(rng)
    allocation = allocate(PolygonZones(units, crs=UTM), ArraySource(mask, TRANSFORM, UTM))
    table = allocation.table()
    assert table.loc[0, "method"] == METHOD_BUILDINGS and not table.loc[0, "fallback"]
    assert (table.loc[1:, "method"] == METHOD_AREAL).all() and table.loc[1:, "fallback"].all()
    out, _, _ = density_array(allocation, ArraySource(mask, TRANSFORM, UTM), res_m=None)
    unit1 = out[0:80, 80:160]
    np.testing.assert_allclose(unit1, units.loc[1, "pop"] / unit1.size)
    assert np.all(out[0:80, 0:80][mask[0:80, 0:80] == 0] == 0)


def test_missing_population_raises_or_is_nan():
    rng = np.random.default_rng(2)
    units = _units(rng)
    units.loc[2, "pop"] = np.nan
    with pytest.raises(ConfigError, match="skip-missing-pop"):
        PolygonZones(units)
    zones = PolygonZones(units, skip_missing=True, crs=UTM)
    mask = blocks_mask((160, 240), rng)
    allocation = allocate(zones, ArraySource(mask, TRANSFORM, UTM))
    assert allocation.table().loc[2, "method"] == METHOD_MISSING
    out, _, allocated = density_array(allocation, ArraySource(mask, TRANSFORM, UTM), res_m=None)
    assert np.isnan(out[0:80, 160:240]).all() and np.isnan(allocated[2])
    np.testing.assert_allclose(np.delete(allocated, 2), np.delete(units["pop"].to_numpy(), 2))
    with pytest.raises(ConfigError, match="population column"):
        PolygonZones(units, pop_field="people")


def test_outside_pixels_are_nodata_and_small_units_get_a_pixel():
    units = gpd.GeoDataFrame(
        {"pop": [100.0, 7.0]},
        crs=UTM,
        geometry=[
            shapely.box(360000, 4109980, 360020, 4110000),  # 40 x 40 px in the top-left
            shapely.box(360030.1, 4109969.9, 360030.3, 4109969.7),
        ],
    )  # smaller than a pixel, no pixel centre
    mask = np.ones((80, 80), np.uint8)
    allocation = allocate(PolygonZones(units, crs=UTM), ArraySource(mask, TRANSFORM, UTM))
    out, _, allocated = density_array(allocation, ArraySource(mask, TRANSFORM, UTM), res_m=None)
    np.testing.assert_allclose(allocated, [100.0, 7.0])
    assert np.isnan(out[70, 10])  # no unit there
    assert out[60, 60] == pytest.approx(7.0)


def test_geographic_area_weighting_and_pixel_area():
    transform = Affine(1 / 1200, 0, 100.0, 0, -1 / 1200, 60.0)  # 3 arc-seconds at 60 degrees north
    areas = pixel_area_m2(transform, "EPSG:4326", np.array([0, 1199]))
    assert areas[0] == pytest.approx(92.77 * 46.4, rel=0.01) and areas[1] > areas[0]
    assert coarsen_factor(TRANSFORM, UTM, 30) == 60 and coarsen_factor(TRANSFORM, UTM, None) == 1
    counts = np.ones((1200, 4), np.uint16)
    unit = gpd.GeoDataFrame({"pop": [1000.0]}, geometry=[shapely.box(99, 58, 101, 61)], crs="EPSG:4326")
    source = ArraySource(counts, transform, "EPSG:4326")
    by_pixel = density_array(allocate(PolygonZones(unit), source, values="count"), source, res_m=None)[0]
    by_area = density_array(allocate(PolygonZones(unit), source, values="count", weighting="area"), source, res_m=None)[
        0
    ]
    assert np.ptp(by_pixel) == pytest.approx(0, abs=1e-9)
    assert by_area[-1, 0] > by_area[0, 0] and by_area.sum() == pytest.approx(1000)


def test_raster_zones_regrid_and_disaggregate(tmp_path, rng):
    pop = rng.integers(0, 50, size=(4, 6)).astype(np.float32)
    pop[0, 0] = -1
    pop_transform = Affine(20, 0, TRANSFORM.c, 0, -20, TRANSFORM.f)  # 20 m cells over the 0.5 m grid
    pop_path = write_geotiff(tmp_path / "pop.tif", pop, transform=pop_transform, nodata=-1)
    known = pop[pop >= 0].sum()
    mask = blocks_mask((160, 240), rng, n=200, size=6)
    buildings = write_geotiff(tmp_path / "b.tif", mask, transform=TRANSFORM)
    table = population_raster(tmp_path / "dens.tif", pop_raster=pop_path, buildings=buildings, res_m=10)
    with rasterio.open(tmp_path / "dens.tif") as src:
        dens = src.read(1)
        assert src.res == (10.0, 10.0)
    assert np.nansum(dens) == pytest.approx(known, rel=1e-5)
    np.testing.assert_allclose(table["allocated"], np.where(pop >= 0, pop, 0).ravel(), rtol=1e-6, atol=1e-6)
    zones = RasterZones(pop_path, bounds=(TRANSFORM.c, TRANSFORM.f - 40, TRANSFORM.c + 40, TRANSFORM.f), bounds_crs=UTM)
    assert zones.totals.size < pop.size
    alone = population_raster(tmp_path / "regrid.tif", pop_raster=pop_path, res_m=40)
    with rasterio.open(tmp_path / "regrid.tif") as src:
        regrid = src.read(1)
    assert regrid.shape == (2, 3) and np.nansum(regrid) == pytest.approx(known, rel=1e-6)
    assert alone["fallback"].all()
