"""Rendering: seamless windows, exact masks, plausible colours, recorded misregistration."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from rasterio.features import rasterize
from skimage.registration import phase_cross_correlation

from geovision.types import PixelWindow

WHOLE = PixelWindow(0, 0, 512, 512)


@pytest.fixture(scope="module")
def images(renderer_512):
    return {date: renderer_512.image(date, WHOLE) for date in ("pre", "post")}


@pytest.mark.parametrize("date", ["pre", "post"])
def test_a_window_renders_exactly_as_the_same_pixels_of_a_larger_window(renderer_512, images, date):
    part = renderer_512.image(date, PixelWindow(200, 136, 190, 250))
    assert part.dtype == np.uint8 and part.shape == (3, 250, 190)
    assert np.array_equal(part, images[date][:, 136:386, 200:390])


def test_masks_are_the_exact_geometry_and_post_is_a_subset_of_pre(renderer_512):
    r = renderer_512
    masks = r.masks(WHOLE)
    b = r.town.buildings
    expected = rasterize(((g, 1) for g in b.footprint), out_shape=(512, 512), transform=r.transform, dtype="uint8")
    assert np.array_equal(masks["buildings_pre"], expected)
    for name in ("buildings", "roads"):
        pre, post = masks[f"{name}_pre"], masks[f"{name}_post"]
        assert set(np.unique(pre)) <= {0, 1} and pre.sum() > 0
        assert not np.any(post & ~pre)
    assert masks["buildings_post"].sum() < masks["buildings_pre"].sum()
    strip = r.masks(PixelWindow(50, 100, 10, 200))["buildings_pre"]
    assert np.array_equal(masks["buildings_pre"][100:300, 50:60], strip)


def test_colours_are_plausible(renderer_512, images):
    masks = renderer_512.masks(WHOLE)
    pre = images["pre"].astype(float)
    road = pre[:, masks["roads_pre"] == 1]
    ground = pre[:, (masks["roads_pre"] == 0) & (masks["buildings_pre"] == 0)]
    assert np.abs(road[0] - road[2]).mean() < 12  # asphalt is grey
    assert ground[1].mean() > ground[2].mean()  # vegetation/soil: more green than blue
    assert 40 < pre.mean() < 200 and pre.std() > 15  # neither flat nor saturated


def test_post_changes_most_where_buildings_were_lost(renderer_512, images):
    r = renderer_512

    def burn(geoms):
        return rasterize(((g, 1) for g in geoms), out_shape=(512, 512), transform=r.transform, dtype="uint8") == 1

    fp = r.town.buildings.footprint
    lost = burn(fp[r.disaster.lost])
    untouched = burn(fp[~r.disaster.lost & ~shapely.intersects(r.disaster.region, fp)])
    diff = np.abs(images["post"].astype(float) - images["pre"].astype(float)).mean(axis=0)
    assert lost.sum() > 500 and untouched.sum() > 500
    assert diff[lost].mean() > 1.5 * diff[untouched].mean()


def test_post_is_misregistered_by_the_recorded_shift(renderer_512, images):
    dx, dy = renderer_512.looks["post"].shift_px
    pre, post = (images[d].astype(float).mean(axis=0) for d in ("pre", "post"))
    shift, _, _ = phase_cross_correlation(pre, post, upsample_factor=20)
    assert abs(shift[0] - dy) < 0.35 and abs(shift[1] - dx) < 0.35
