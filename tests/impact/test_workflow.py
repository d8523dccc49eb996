import dask.array as da
import numpy as np

from geovision.impact.workflow import dii_from_files, open_mask_lazy
from tests.rasters import write_geotiff

from .conftest import TRANSFORM


def test_lazy_masks_never_assume_a_nodata_value(tmp_path, rng):
    pre = (rng.random((300, 200)) < 0.3).astype(np.uint8)
    pre[:50] = 255  # declared nodata
    post = pre.copy()
    post[post == 1] = 0
    pre_path = write_geotiff(tmp_path / "pre.tif", pre, transform=TRANSFORM, nodata=255)
    # no nodata declared: 0 is a value, 255 a feature
    post_path = write_geotiff(tmp_path / "post.tif", post, transform=TRANSFORM)
    array, valid = open_mask_lazy(pre_path, chunk_px=64)
    assert isinstance(array.data, da.Array) and int(valid.sum()) == 250 * 200
    ds = dii_from_files(pre_path, post_path, cell_px=100, theta=0.5)
    assert int(ds["n_valid"].sum()) == 250 * 200
    assert int(ds["c"].sum()) == int((pre[50:] == 1).sum())
    assert np.isfinite(float(ds["dii"][0, 0])) and float(ds["valid_fraction"][0, 0]) == 0.5
    assert set(np.unique(ds["impacted"].to_numpy()[np.isfinite(ds["impacted"].to_numpy())])) == {1.0}
