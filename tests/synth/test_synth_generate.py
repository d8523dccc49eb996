"""generate_event: the files, their formats, their agreement, reproducibility and errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize

from geovision import __version__
from geovision.errors import ConfigError, GeoreferenceError, OutputExistsError
from geovision.synth import DAMAGE_CLASSES, FILES, generate_event
from geovision.synth.generate import DEFAULT_ORIGIN


def read(path, band=None):
    with rasterio.open(path) as src:
        return src.read(band) if band else src.read()


def test_writes_exactly_the_documented_files(tornado_event):
    names = sorted(p.name for p in tornado_event.out_dir.iterdir())
    assert names == sorted(FILES.values())
    assert tornado_event.paths["pre"] == tornado_event.pre and tornado_event.pre.name == "pre.tif"


def test_geotiffs_are_tiled_deflate_uint8_georeferenced_without_nodata(tornado_event):
    for name in ("pre", "post", "buildings_pre", "buildings_post", "roads_pre", "roads_post"):
        with rasterio.open(tornado_event.paths[name]) as src:
            assert src.count == (3 if name in ("pre", "post") else 1), name
            assert src.dtypes[0] == "uint8" and src.nodata is None
            assert src.block_shapes[0] == (512, 512) and src.compression.name.lower() == "deflate"
            assert src.crs.to_epsg() == 32615 and src.res == (0.5, 0.5)
            assert (src.bounds.left, src.bounds.top) == DEFAULT_ORIGIN
            assert (src.width, src.height) == (768, 768)
            assert not src.tags().get("TIFFTAG_DATETIME")


def test_masks_agree_with_the_vector_truth(tornado_event):
    p = tornado_event.paths
    buildings = gpd.read_file(p["buildings"])
    with rasterio.open(p["buildings_pre"]) as src:
        pre, transform = src.read(1), src.transform

    def burn(geoms):
        return rasterize(((g, 1) for g in geoms), out_shape=pre.shape, transform=transform, dtype="uint8")

    assert np.array_equal(pre, burn(buildings.geometry))
    assert np.array_equal(read(p["buildings_post"], 1), burn(buildings.geometry[~buildings["lost"]]))
    roads_pre, roads_post = read(p["roads_pre"], 1), read(p["roads_post"], 1)
    assert set(np.unique(roads_pre)) == {0, 1} and not np.any(roads_post & ~roads_pre)
    assert roads_post.sum() < roads_pre.sum()


def test_vector_outputs_have_the_documented_columns_and_values(tornado_event):
    p = tornado_event.paths
    b = gpd.read_file(p["buildings"])
    assert {"building_id", "damage", "lost", "population"} <= set(b.columns)
    assert b["building_id"].is_unique and set(b["damage"]) <= set(DAMAGE_CLASSES)
    assert (b["lost"] == b["damage"].isin(["major-damage", "destroyed"])).all()
    assert b["lost"].any() and (~b["lost"]).any()
    roads = gpd.read_file(p["roads"])
    assert {"road_id", "lost_fraction"} <= set(roads.columns)
    assert roads["lost_fraction"].between(0, 1).all() and roads["lost_fraction"].max() > 0
    affected = gpd.read_file(p["affected_area"])
    assert affected.union_all().buffer(0.01).contains(b.geometry[b["lost"]].union_all().centroid)
    assert b.geometry[b["lost"]].intersects(affected.union_all()).all()
    census = gpd.read_file(p["census"])
    assert {"admin_id", "name", "pop"} <= set(census.columns) and census["pop"].dtype.kind == "i"
    scene = 768 * 0.5
    assert abs(census.area.sum() - scene * scene) < 1.0
    assert abs(census["pop"].sum() - b["population"].sum()) <= 0.25 * b["population"].sum() + 3
    for frame in (b, roads, affected, census):
        assert frame.crs.to_epsg() == 32615


def test_event_json_records_the_run(tornado_event):
    info = json.loads(tornado_event.paths["event"].read_text())
    b = gpd.read_file(tornado_event.paths["buildings"])
    assert info["seed"] == 1 and info["event"] == "tornado" and info["version"] == __version__
    assert (info["width"], info["height"], info["gsd_m"], info["crs"]) == (768, 768, 0.5, "EPSG:32615")
    assert info["counts"]["buildings"] == len(b) == tornado_event.counts["buildings"]
    assert info["counts"]["buildings_lost"] == int(b["lost"].sum())
    assert info["counts"]["buildings_destroyed"] == int((b["damage"] == "destroyed").sum())
    shift = info["misregistration_px"]
    assert (shift["dx"], shift["dy"]) == tornado_event.shift_px
    assert 0.2 < np.hypot(shift["dx"], shift["dy"]) <= 2.0


def test_same_seed_gives_byte_identical_files_whatever_the_window_size(tornado_event, tmp_path):
    again = generate_event(tmp_path / "again", width=768, height=768, seed=1, window_px=320)
    for name, path in tornado_event.paths.items():
        assert path.read_bytes() == again.paths[name].read_bytes(), name


def test_another_seed_gives_another_scene(tornado_event, tmp_path):
    other = generate_event(tmp_path / "other", width=256, height=256, seed=2)
    assert not np.array_equal(read(other.pre)[:, :256, :256], read(tornado_event.pre)[:, :256, :256])


@pytest.mark.parametrize("event", ["fire", "flood"])
def test_fire_and_flood_events(tmp_path, event):
    result = generate_event(tmp_path / event, width=640, height=384, seed=4, event=event, origin=(500000, 4000000))
    with rasterio.open(result.pre) as src:
        assert (src.width, src.height) == (640, 384) and src.bounds.left == 500000 and src.bounds.top == 4000000
    info = json.loads(result.paths["event"].read_text())
    assert info["event"] == event and info["affected_area_m2"] > 0
    if event == "flood":  # flood water covers roads
        assert read(result.paths["roads_post"], 1).sum() < read(result.paths["roads_pre"], 1).sum()


@pytest.mark.parametrize("event", ["tornado", "flood"])
def test_a_tiny_scene_without_buildings_still_writes_everything(tmp_path, event):
    result = generate_event(tmp_path / "tiny", width=64, height=80, seed=0, event=event)
    assert result.counts["buildings"] == 0
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(FILES.values())
    assert read(result.paths["buildings_pre"], 1).sum() == 0 and read(result.pre).shape == (3, 80, 64)


def test_existing_output_needs_overwrite_and_an_empty_folder_is_fine(tmp_path):
    out = tmp_path / "ev"
    out.mkdir()
    generate_event(out, width=128, height=128, seed=0)  # empty folder: filled
    before = (out / "pre.tif").read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        generate_event(out, width=128, height=128, seed=1)
    assert (out / "pre.tif").read_bytes() == before  # untouched
    generate_event(out, width=128, height=128, seed=1, overwrite=True)
    assert (out / "pre.tif").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no temp folders left behind


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"width": 10}, ConfigError, "width"),
        ({"height": 100.5}, ConfigError, "height"),
        ({"gsd_m": 0}, ConfigError, "gsd_m"),
        ({"seed": -1}, ConfigError, "seed"),
        ({"event": "earthquake"}, ConfigError, "earthquake"),
        ({"crs": "EPSG:4326"}, GeoreferenceError, "not projected"),
        ({"crs": "not a crs"}, GeoreferenceError, "cannot parse"),
    ],
)
def test_bad_options_raise_clear_errors_and_write_nothing(tmp_path, kwargs, error, text):
    args = {"width": 128, "height": 128, **kwargs}
    with pytest.raises(error, match=text) as info:
        generate_event(tmp_path / "x", **args)
    assert info.value.fix
    assert not (tmp_path / "x").exists()
