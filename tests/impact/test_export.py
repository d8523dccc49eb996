import geopandas as gpd
import numpy as np
import pytest
import rasterio

from geovision.errors import GeoreferenceError, OutputExistsError
from geovision.impact.dii import compute_dii_grid, flag_impacted
from geovision.impact.export import grid_frame, write_grid

from .conftest import TRANSFORM, UTM, blocks_mask


def test_write_grid_cog_and_vectors(tmp_path, rng):
    pre = blocks_mask((300, 200), rng, n=50)
    post = pre.copy()
    post[:100] = 0
    ds = compute_dii_grid(pre, post, cell_px=64, transform=TRANSFORM, crs=UTM)
    ds["impacted"] = flag_impacted(ds, 0.1)
    paths = write_grid(ds.drop_vars("mean_f"), tmp_path, name="grid")
    with rasterio.open(paths["cog"]) as src:
        names = list(src.descriptions)
        assert src.count == len(names) and "dii" in names and "impacted" in names
        assert src.transform == TRANSFORM @ rasterio.Affine.scale(64) and np.isnan(src.nodata)
        assert src.shape == (5, 4)
        np.testing.assert_allclose(src.read(names.index("dii") + 1), ds["dii"], equal_nan=True)
    frame = gpd.read_file(paths["gpkg"])
    assert len(frame) == 20 and {"f", "c", "dii", "lost_fraction", "impacted", "row", "col"} <= set(frame.columns)
    assert frame.geometry.area.iloc[-1] == pytest.approx((300 - 256) * (200 - 192) * 0.25)  # clipped edge cell
    gj = gpd.read_file(paths["geojson"])
    assert gj.crs.to_epsg() == 4326 and len(gj) == 20
    assert frame["dii"].isna().sum() == int(ds["dii"].isnull().sum())
    with pytest.raises(OutputExistsError):
        write_grid(ds.drop_vars("mean_f"), tmp_path, name="grid")


def test_grid_needs_georeference():
    ds = compute_dii_grid(np.ones((8, 8)), np.ones((8, 8)), cell_px=4)
    with pytest.raises(GeoreferenceError):
        grid_frame(ds)
