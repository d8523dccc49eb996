import geopandas as gpd
import pytest
import shapely
from affine import Affine

from geovision.errors import ConfigError
from geovision.vector.units import area_m2, length_m, metres_per_map_unit, metric_crs, pixel_size_m


def test_metric_crs_area_and_length():
    square = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 100, 100), shapely.LineString([(0, 0), (30, 40)])], crs="EPSG:32615"
    )
    assert metric_crs(square) == square.crs
    assert area_m2(square)[0] == pytest.approx(10000) and length_m(square)[1] == pytest.approx(50)
    geo = square.translate(500000, 4100000).to_crs(4326)  # on zone 15's central meridian
    assert metric_crs(geo).to_epsg() == 32615
    assert area_m2(geo)[0] == pytest.approx(10000, rel=1e-4)
    feet = square.to_crs("+proj=utm +zone=15 +datum=WGS84 +units=us-ft")  # the same projection in US feet
    assert area_m2(feet)[0] == pytest.approx(10000, rel=1e-3)
    with pytest.raises(ConfigError):
        area_m2(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))


def test_pixel_size_m():
    assert pixel_size_m(Affine(0.5, 0, 0, 0, -0.5, 0), "EPSG:32615") == 0.5
    arc3 = Affine(1 / 1200, 0, 100, 0, -1 / 1200, 0)  # 3 arc-seconds at the equator
    assert pixel_size_m(arc3, "EPSG:4326") == pytest.approx(92.8, rel=0.01)
    assert metres_per_map_unit(arc3, "EPSG:4326") == pytest.approx(111_320, rel=1e-6)
    assert pixel_size_m(Affine(2, 0, 0, 0, -2, 0)) == 2
