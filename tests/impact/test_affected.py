import geopandas as gpd
import numpy as np
import pytest
import shapely

from geovision.errors import ConfigError
from geovision.impact.affected import affected_population, validation_sample
from geovision.impact.dii import compute_dii_grid, flag_impacted
from geovision.impact.population import PolygonZones, allocate
from geovision.impact.sources import ArraySource
from tests.rasters import write_geotiff

from .conftest import TRANSFORM, UTM, blocks_mask


def _scene(rng):
    shape = (128, 192)
    pre = blocks_mask(shape, rng, n=80, size=8)
    post = pre.copy()
    post[:64, :64] = 0  # everything lost in the top-left cell of 64 px
    units = gpd.GeoDataFrame(
        {"pop": [1000.0, 600.0]},
        crs=UTM,
        geometry=[
            shapely.box(TRANSFORM.c, TRANSFORM.f - 64, TRANSFORM.c + 48, TRANSFORM.f),  # left 96 px
            shapely.box(TRANSFORM.c + 48, TRANSFORM.f - 64, TRANSFORM.c + 96, TRANSFORM.f),
        ],
    )
    return pre, post, units


def _expected_lost(pre, post, units_pop):
    left = pre[:, :96].astype(bool)
    lost_left = left & ~post[:, :96].astype(bool)
    return units_pop[0] * lost_left.sum() / left.sum()


def test_persons_lost_and_impacted_per_cell_and_unit(rng):
    pre, post, units = _scene(rng)
    src_pre, src_post = ArraySource(pre, TRANSFORM, UTM), ArraySource(post, TRANSFORM, UTM)
    allocation = allocate(PolygonZones(units, crs=UTM), src_pre)
    ds = compute_dii_grid(pre, post, cell_px=64, transform=TRANSFORM, crs=UTM)
    ds["impacted"] = flag_impacted(ds, 0.5)
    result = affected_population(src_pre, src_post, allocation, ds, window_px=100)
    assert result.totals["persons"] == pytest.approx(1600)
    assert result.totals["persons_lost"] == pytest.approx(_expected_lost(pre, post, [1000.0]))
    cells = result.cells
    assert float(cells["persons_lost"][0, 0]) == pytest.approx(result.totals["persons_lost"])
    assert float(cells["persons_lost"].sum()) == pytest.approx(float(result.units["persons_lost"].sum()))
    impacted = np.nan_to_num(ds["impacted"].to_numpy()) > 0
    assert impacted[0, 0] and impacted.sum() == 1
    assert result.totals["persons_impacted"] == pytest.approx(float(cells["persons"][0, 0]))
    units_table = result.units.set_index("zone")
    assert units_table.loc[1, "persons_lost"] == 0 and units_table.loc[1, "persons"] == pytest.approx(600)
    assert units_table.loc[0, "persons_impacted"] == pytest.approx(result.totals["persons_impacted"])


def test_tolerance_windows_and_files_agree(rng, tmp_path):
    pre, post, units = _scene(rng)
    post = np.roll(post, 1, axis=1)  # one-pixel misregistration
    paths = [write_geotiff(tmp_path / f"{n}.tif", a, transform=TRANSFORM) for n, a in (("pre", pre), ("post", post))]
    allocation = allocate(PolygonZones(units, crs=UTM), paths[0])
    ds = compute_dii_grid(pre, post, cell_px=64, tolerance_px=1, transform=TRANSFORM, crs=UTM)
    ds["impacted"] = flag_impacted(ds, 0.5)
    small = affected_population(paths[0], paths[1], allocation, ds, window_px=64)
    big = affected_population(paths[0], paths[1], allocation, ds, window_px=4096)
    np.testing.assert_allclose(small.cells["persons_lost"], big.cells["persons_lost"])
    # with the tolerance only the truly removed buildings count
    assert small.totals["persons_lost"] == pytest.approx(
        _expected_lost(pre, np.roll(post, -1, axis=1), [1000.0]), rel=0.05
    )


def test_intervals(rng):
    pre, post, units = _scene(rng)
    prob_post = np.where(post > 0, 0.9, 0.2).astype(np.float32)
    src_pre = ArraySource(pre, TRANSFORM, UTM)
    allocation = allocate(PolygonZones(units, crs=UTM), src_pre)
    ds = compute_dii_grid(pre, prob_post, cell_px=64, transform=TRANSFORM, crs=UTM)
    ds["impacted"] = flag_impacted(ds, 0.5)
    model = affected_population(
        src_pre, ArraySource(prob_post, TRANSFORM, UTM), allocation, ds, uncertainty="model", n_boot=300
    )
    t = model.totals
    assert t["interval_method"] == "model"
    assert t["persons_lost_low"] <= t["persons_lost_expected"] <= t["persons_lost_high"]
    assert model.buildings is not None and (model.buildings["p_lost"].between(0, 1)).all()
    assert model.cells["persons_lost_high"].sum() >= model.cells["persons_lost_low"].sum()
    truth = affected_population(src_pre, ArraySource(post, TRANSFORM, UTM), allocation, ds)
    pred, true = validation_sample(model, truth)
    val = affected_population(
        src_pre,
        ArraySource(prob_post, TRANSFORM, UTM),
        allocation,
        ds,
        uncertainty="validation",
        validation={"persons_lost": (pred, true)},
        n_boot=300,
    )
    assert val.totals["persons_lost_calibrated"] == pytest.approx(truth.totals["persons_lost"])
    assert "persons_lost_low" in val.units and "persons_lost_high" in val.cells
    with pytest.raises(ConfigError):
        affected_population(src_pre, src_pre, allocation, ds, uncertainty="validation")
    with pytest.raises(ConfigError, match="impacted"):
        affected_population(src_pre, src_pre, allocation, ds.drop_vars("impacted"))
