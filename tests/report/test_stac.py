import json
import shutil

import pystac
import pytest
from pystac.errors import STACValidationError
from pystac.validation.stac_validator import GetSchemaError

from geovision.report.stac import MEDIA_TYPES, run_files, validate_catalog


def _item_path(run_dir):
    return next((run_dir / "stac").glob("*/*.json"))


def test_catalog_validates_offline_and_describes_every_file(full_run):
    assert validate_catalog(full_run / "stac" / "catalog.json") == 1
    item = pystac.Item.from_file(str(_item_path(full_run)))
    described = {(_item_path(full_run).parent / a.href).resolve() for a in item.assets.values()}
    files = {p.resolve() for p in run_files(full_run)}
    assert described == files
    assert full_run / "report.html" in files and full_run / "geovision.gpkg" in files
    for asset in item.assets.values():
        assert not asset.href.startswith("/"), asset.href  # relative: the folder can move
        assert asset.media_type in MEDIA_TYPES.values()


def test_item_has_projection_of_the_scene_and_of_each_cog(full_run):
    item = json.loads(_item_path(full_run).read_text())
    assert item["properties"]["proj:code"] == "EPSG:32615"
    assert item["properties"]["proj:shape"] == [1024, 1024]
    west, south, east, north = item["bbox"]
    assert -95 < west < east < -94 and 37 < south < north < 38
    grid = item["assets"]["impact__buildings_impact.tif"]
    assert grid["proj:shape"] == [8, 8] and grid["proj:transform"][0] == 64.0  # 128 px cells of 0.5 m
    assert grid["type"] == pystac.MediaType.COG


def test_validation_catches_a_broken_projection_field(full_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(full_run / "stac", copy)
    item_path = next(copy.glob("*/*.json"))
    item = json.loads(item_path.read_text())
    item["properties"]["proj:shape"] = [1024, 1024, 3]
    item_path.write_text(json.dumps(item))
    with pytest.raises(STACValidationError):
        validate_catalog(copy / "catalog.json")


def test_unknown_extension_is_not_fetched_from_the_network(full_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(full_run / "stac", copy)
    item_path = next(copy.glob("*/*.json"))
    item = json.loads(item_path.read_text())
    item["stac_extensions"].append("https://example.invalid/unknown/v1.0.0/schema.json")
    item_path.write_text(json.dumps(item))
    with pytest.raises(GetSchemaError, match="no local schema"):
        validate_catalog(copy / "catalog.json")


def _tiny_run(folder):
    import numpy as np

    from tests.rasters import write_geotiff

    folder.mkdir()
    write_geotiff(folder / "pre.tif", np.zeros((1, 8, 8), np.uint8), origin=(365823.0, 4103219.0))
    return folder


@pytest.mark.parametrize(
    "event_date, expected, source",
    [
        ("2011-05-22", "2011-05-22T00:00:00Z", "event date"),
        (None, None, "processing time (event date unknown)"),
    ],
)
def test_item_datetime_is_the_event_date(tmp_path, event_date, expected, source):
    from geovision.report.stac import build_catalog

    run = _tiny_run(tmp_path / "run")
    build_catalog(run, {"inputs": {"name": "x", "event_date": event_date}}, footprint=run / "pre.tif")
    item = json.loads(_item_path(run).read_text())
    assert item["properties"]["geovision:datetime_source"] == source
    assert "created" in item["properties"]
    if expected:
        assert item["properties"]["datetime"] == expected
    else:
        assert item["properties"]["datetime"] == item["properties"]["created"]


def test_bad_event_date_is_a_config_error(tmp_path):
    from geovision.errors import ConfigError
    from geovision.report.stac import build_catalog

    run = _tiny_run(tmp_path / "run")
    with pytest.raises(ConfigError, match="ISO 8601"):
        build_catalog(run, {"inputs": {"name": "x", "event_date": "22/05/2011"}}, footprint=run / "pre.tif")
