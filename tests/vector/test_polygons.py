import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geovision.errors import ConfigError
from geovision.vector.polygons import polygonize_buildings, polygonize_raster, regularize
from tests.rasters import write_geotiff

UTM = "EPSG:32615"
TRANSFORM = Affine(0.5, 0, 360000, 0, -0.5, 4110000)


def _mask():
    mask = np.zeros((120, 120), np.uint8)
    mask[10:30, 10:40] = 1  # 20 x 30 px = 150 m²
    mask[50:52, 50:52] = 1  # 1 m² speck
    mask[60:90, 60:70] = 1  # an L: 75 + 50 = 125 m²
    mask[60:70, 70:90] = 1
    mask[100:110, 100:110] = 1
    mask[104:106, 104:106] = 0  # a courtyard (hole)
    return mask


def test_polygons_area_filter_and_validity():
    gdf = polygonize_buildings(_mask(), transform=TRANSFORM, crs=UTM, min_area_m2=5)
    assert list(gdf["building_id"]) == [0, 1, 2]
    assert sorted(gdf["area_m2"]) == pytest.approx([24.0, 125.0, 150.0])
    assert gdf.is_valid.all() and set(gdf.geom_type) == {"Polygon"}
    holed = gdf.loc[gdf["area_m2"].round() == 24].geometry.iloc[0]
    assert len(holed.interiors) == 1
    all_of_them = polygonize_buildings(_mask(), transform=TRANSFORM, crs=UTM)
    assert len(all_of_them) == 4


def test_area_is_metric_for_geographic_masks():
    transform = Affine(1e-5, 0, -94.5, 0, -1e-5, 37.08)  # ~0.9 m x 1.1 m pixels at Joplin
    mask = np.zeros((50, 50), np.uint8)
    mask[10:30, 10:30] = 1
    gdf = polygonize_buildings(mask, transform=transform, crs="EPSG:4326")
    assert gdf.crs.to_epsg() == 4326
    expected = gpd.GeoSeries([gdf.geometry.iloc[0]], crs=4326).to_crs(32615).area.iloc[0]
    assert gdf["area_m2"].iloc[0] == pytest.approx(expected, rel=1e-3)
    assert 350 < expected < 450


def test_simplify_and_regularize():
    mask = np.zeros((60, 60), np.uint8)
    rows, cols = np.mgrid[0:60, 0:60]
    mask[(abs((rows - 30) + (cols - 30)) < 14) & (abs((rows - 30) - (cols - 30)) < 8)] = 1  # a rotated box
    raw = polygonize_buildings(mask, transform=TRANSFORM, crs=UTM)
    simple = polygonize_buildings(mask, transform=TRANSFORM, crs=UTM, simplify_m=1.0)
    rect = polygonize_buildings(mask, transform=TRANSFORM, crs=UTM, regularize_shapes=True)
    n = [len(g.exterior.coords) for g in (raw.geometry[0], simple.geometry[0], rect.geometry[0])]
    assert n[0] > n[1] and n[2] == 5
    assert rect["area_m2"][0] == pytest.approx(raw["area_m2"][0], rel=0.15)
    l_shape = shapely.Polygon([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])
    assert regularize(l_shape).equals(l_shape)  # far from a rectangle: kept


def test_raster_windows_merge_across_edges(tmp_path):
    mask = _mask()
    path = tmp_path / "m.tif"
    write_geotiff(path, mask, crs=UTM, transform=TRANSFORM)
    whole = polygonize_raster(path, min_area_m2=5)
    tiled = polygonize_raster(path, min_area_m2=5, window_px=25)  # every building crosses window edges
    assert len(tiled) == len(whole) == 3
    assert sorted(tiled["area_m2"]) == pytest.approx(sorted(whole["area_m2"]))
    with pytest.raises(ConfigError):
        polygonize_buildings(mask, transform=TRANSFORM, crs=UTM, min_area_m2=-1)


def test_empty_mask():
    gdf = polygonize_buildings(np.zeros((10, 10), np.uint8), transform=TRANSFORM, crs=UTM)
    assert len(gdf) == 0 and {"building_id", "area_m2"} <= set(gdf.columns)
