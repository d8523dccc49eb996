"""Property-based checks of input validation over generated rasters (issue 17).

Whatever the size, data type, nodata, CRS or transform, opening and checking an image either
succeeds with sane figures or raises a GeovisionError (a one-line, exit-2 message): never
another exception, and never a silent all-clear for an image without data.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geovision.errors import CorruptFileError, GeovisionError
from geovision.io.raster import open_raster
from geovision.io.validity import valid_share
from geovision.pipeline.checks import check_images
from geovision.pipeline.events import EventInputs
from tests.rasters import write_geotiff

DTYPES = ["uint8", "uint16", "int16", "float32", "float64"]
CRSS = [None, "EPSG:4326", "EPSG:32615", "EPSG:3857", "EPSG:2229"]  # 2229: US feet


@st.composite
def rasters(draw):
    dtype = draw(st.sampled_from(DTYPES))
    width, height, count = draw(st.integers(1, 300)), draw(st.integers(1, 300)), draw(st.integers(1, 5))
    floating = dtype.startswith("float")
    nodata = draw(st.sampled_from([None, 0] + ([float("nan")] if floating else [])))
    res = draw(st.sampled_from([0.5, 1e-5, 30.0]))
    transform = draw(
        st.sampled_from(
            [
                Affine(res, 0, 500000, 0, -res, 4100000),
                Affine(res, 0, 0, 0, res, 0),
                Affine(res, 0.1 * res, 500000, 0.1 * res, -res, 4100000),
            ]
        )
    )
    fill = draw(st.sampled_from(["random", "nodata", "constant", "nonfinite"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    info = np.finfo(dtype) if floating else np.iinfo(dtype)
    data = rng.uniform(max(info.min, -1e4), min(info.max, 1e4), (count, height, width)).astype(dtype)
    if fill == "nodata" and nodata is not None:
        data[:] = nodata
    elif fill == "constant":
        data[:] = 7
    elif fill == "nonfinite" and floating:
        data[:, : height // 2] = np.nan
        data[:, height // 2 :] = np.inf
    return dict(
        dtype=dtype,
        width=width,
        height=height,
        count=count,
        nodata=nodata,
        crs=draw(st.sampled_from(CRSS)),
        transform=transform,
        data=data,
        fill=fill,
    )


def write(path, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. NotGeoreferencedWarning for the files without CRS
        return write_geotiff(path, spec["data"], crs=spec["crs"], transform=spec["transform"], nodata=spec["nodata"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=rasters())
def test_validation_raises_only_clear_errors(tmp_path, spec):
    path = write(tmp_path / "image.tif", spec)
    share = valid_share(path)
    assert 0.0 <= share <= 1.0
    no_data = (spec["fill"] == "nodata" and spec["nodata"] is not None) or (
        spec["fill"] == "nonfinite" and spec["dtype"].startswith("float")
    )
    if no_data:
        assert share == 0.0
    try:
        check_images(EventInputs(name="t", pre=path, post=path))
    except CorruptFileError as error:
        assert share == 0.0 and str(path) in str(error)
    else:
        assert share > 0.0
    try:
        with open_raster(path) as raster:
            assert raster.width == spec["width"] and raster.height == spec["height"]
            assert all(math.isfinite(r) and r > 0 for r in raster.res)
    except GeovisionError as error:
        assert "\n" not in str(error) and "Fix:" in str(error)
