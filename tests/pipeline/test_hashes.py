"""Input hashes decide whether a stage re-runs: every part of a Shapefile counts."""

import geopandas as gpd
import shapely

from geovision.io.hashing import file_sha256


def test_shapefile_hash_covers_its_prj_and_dbf(tmp_path):
    path = tmp_path / "aoi.shp"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32615").to_file(path)
    first = file_sha256(path)
    assert file_sha256(path) == first
    prj = path.with_suffix(".prj")
    prj.write_text(gpd.GeoSeries(crs="EPSG:32616").crs.to_wkt())
    assert file_sha256(path) != first
    second = file_sha256(path)
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32616").to_file(path)
    assert file_sha256(path) != second


def test_plain_file_hash(tmp_path):
    path = tmp_path / "a.gpkg"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
