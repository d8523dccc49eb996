import functools
from collections import Counter

import numpy as np
import pytest
import rasterio
import rasterio.io
import shapely
from affine import Affine
from click.testing import CliRunner
from rasterio import features

from geovision.errors import ConfigError
from geovision.vector import road_raster
from geovision.vector.road_raster import road_lines_from_raster
from geovision.vector.skeleton import road_lines
from tests.rasters import write_geotiff

UTM = "EPSG:32615"
TRANSFORM = Affine(0.5, 0, 360000, 0, -0.5, 4110000)
PX_M = 0.5


#: the road masks of these tests: tiled (256 px blocks, read window by window) on :data:`TRANSFORM`
_write = functools.partial(write_geotiff, transform=TRANSFORM, crs=UTM, block_px=256)


def _draw(lines_and_widths, shape) -> np.ndarray:
    """A road mask (uint8) of pixel-space lines buffered by half their width in pixels."""
    return features.rasterize([(line.buffer(w), 1) for line, w in lines_and_widths], out_shape=shape, dtype="uint8")


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """A 1500 px road network: a grid with roads and junctions on and next to the 512 px window edges,
    a diagonal through the window corners, a winding road, a short link and a ring road."""
    n = 1500
    xs = np.linspace(0, n, 300)
    lines = [(shapely.LineString([(0, r), (n, r)]), w) for r, w in ((100, 4), (509, 5), (800, 6), (1030, 4))]
    lines += [(shapely.LineString([(c, 0), (c, n)]), w) for c, w in ((200, 5), (512, 4), (700, 6), (1021, 5))]
    lines += [
        (shapely.LineString([(0, 0), (n, n)]), 4),
        (shapely.LineString(np.column_stack([xs, 1250 + 150 * np.sin(xs / 90)])), 5),
        (shapely.LineString([(300, 300), (600, 450)]), 4),
        (shapely.Point(1250, 250).buffer(120).exterior, 4),
    ]
    mask = _draw(lines, (n, n))
    return mask, _write(tmp_path_factory.mktemp("roads") / "network.tif", mask)


def _node_degrees(lines) -> Counter:
    """How many nodes have each degree (a loop counts 2 at its node)."""
    per_node = Counter(list(lines["u"]) + list(lines["v"]))
    return Counter(per_node.values())


def test_windowed_matches_whole_scene(network):
    mask, path = network
    whole = road_lines(mask.astype(bool), transform=TRANSFORM, crs=UTM)
    windowed = road_lines_from_raster(path, window_px=512, halo_px=64)
    assert windowed.crs.to_epsg() == 32615 and set(windowed.geom_type) == {"LineString"}
    assert list(windowed.columns) == list(whole.columns) == ["u", "v", "geometry", "length_m"]
    assert windowed["length_m"].sum() == pytest.approx(whole["length_m"].sum(), rel=0.01)
    # node counts: dead ends, through nodes (2: ring/loop nodes only) and junctions within 2 of the whole scene
    got, want = _node_degrees(windowed), _node_degrees(whole)
    assert want[1] >= 20 and sum(c for d, c in want.items() if d >= 3) >= 40  # the scene is not a toy
    for degree in (1, 2):
        assert abs(got[degree] - want[degree]) <= 2, (got, want)
    assert abs(sum(c for d, c in got.items() if d >= 3) - sum(c for d, c in want.items() if d >= 3)) <= 2
    assert abs(len(windowed) - len(whole)) <= 2
    # every windowed line lies within 2 px of the whole-scene lines
    near = shapely.union_all(whole.geometry.to_numpy()).buffer(2 * PX_M)
    assert shapely.contains(near, windowed.geometry.to_numpy()).all()


def test_road_across_windows_is_one_continuous_line(tmp_path):
    straight = np.zeros((64, 1500), np.uint8)
    straight[28:36, :] = 1  # crosses 3 windows of 512 px
    lines = road_lines_from_raster(_write(tmp_path / "s.tif", straight), window_px=512, halo_px=64)
    assert len(lines) == 1
    assert lines["length_m"].iloc[0] == pytest.approx(1500 * PX_M, rel=0.01)
    diagonal = _draw([(shapely.LineString([(0, 0), (1200, 1200)]), 5)], (1200, 1200))
    lines = road_lines_from_raster(_write(tmp_path / "d.tif", diagonal), window_px=512, halo_px=64)
    assert len(lines) == 1  # also through the window corners (512, 512)
    assert lines["length_m"].iloc[0] == pytest.approx(1200 * 2**0.5 * PX_M, rel=0.02)
    ring = _draw([(shapely.Point(600, 600).buffer(300).exterior, 4)], (1200, 1200))
    lines = road_lines_from_raster(_write(tmp_path / "r.tif", ring), window_px=512, halo_px=64)
    assert len(lines) == 1 and lines.geometry.iloc[0].is_ring  # a closed road stays one closed line
    assert lines["u"].iloc[0] == lines["v"].iloc[0]


def test_spurs_near_window_edges_are_pruned(tmp_path):
    mask = np.zeros((64, 1500), bool)
    mask[28:33, 5:1495] = True
    mask[20:28, 511:514] = True  # a 4 m hair across the window edge at 512
    mask[20:28, 1020:1023] = True  # and one just before the edge at 1024
    path = _write(tmp_path / "spurs.tif", mask.astype(np.uint8))
    kept = road_lines_from_raster(path, window_px=512, halo_px=64)
    pruned = road_lines_from_raster(path, window_px=512, halo_px=64, min_spur_m=6)
    whole = road_lines(mask, transform=TRANSFORM, crs=UTM, min_spur_m=6)
    assert _node_degrees(kept)[3] == 2 and len(kept) == 5  # both hairs traced as dead ends
    assert len(pruned) == len(whole) == 3  # hairs gone; the road keeps its two split points
    assert _node_degrees(pruned)[1] == 2  # only the road's two ends are dead ends
    assert pruned["length_m"].sum() == pytest.approx(whole["length_m"].sum(), rel=0.01)
    assert pruned["length_m"].sum() == pytest.approx(1490 * PX_M, rel=0.02)
    simple = road_lines_from_raster(path, window_px=512, halo_px=64, min_spur_m=6, simplify_m=0.5)
    assert max(len(g.coords) for g in simple.geometry) < 10


def test_reads_are_bounded_by_the_window_and_halo(network, monkeypatch):
    _, path = network
    sizes: list[int] = []
    for name in ("read", "read_masks"):
        original = getattr(rasterio.io.DatasetReader, name)

        def spy(self, *args, _original=original, **kwargs):
            window = kwargs.get("window")
            sizes.append(self.width * self.height if window is None else int(window.width * window.height))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(rasterio.io.DatasetReader, name, spy)
    lines = road_lines_from_raster(path, window_px=512, halo_px=64)
    assert len(lines) > 50
    assert len(sizes) >= 9  # 3 x 3 windows, each read on its own
    assert max(sizes) <= (512 + 2 * 64) ** 2 < 1500 * 1500


def test_probabilities_nodata_and_errors(tmp_path):
    prob = np.zeros((300, 1100), np.float32)
    prob[140:150, 20:1080] = 0.7
    prob[100:200, 600:603] = 0.9  # a crossing road right past the 512 edge
    prob[140:150, 300:310] = np.nan  # a nodata gap cuts the road
    prob[20:30, 20:1080] = 0.3  # below tau
    path = _write(tmp_path / "p.tif", prob, nodata=float("nan"))
    windowed = road_lines_from_raster(path, tau=0.5, window_px=512, halo_px=32)
    whole = road_lines((prob >= 0.5) & np.isfinite(prob), transform=TRANSFORM, crs=UTM)
    assert len(windowed) == len(whole) == 5
    assert windowed["length_m"].sum() == pytest.approx(whole["length_m"].sum(), rel=0.01)
    with pytest.raises(ConfigError):
        road_lines_from_raster(path, halo_px=-1)
    with pytest.raises(ConfigError):
        road_lines_from_raster(path, min_spur_m=-1)
    with pytest.raises(ConfigError):
        road_lines_from_raster(path, window_px=0)
    empty = road_lines_from_raster(_write(tmp_path / "e.tif", np.zeros((40, 40), np.uint8)))
    assert len(empty) == 0 and list(empty.columns) == ["u", "v", "geometry", "length_m"]


def test_vectorize_cli_traces_window_by_window(network, tmp_path, monkeypatch):
    from geovision.cli.main import cli

    calls = []

    def spy(path, **kwargs):
        calls.append(kwargs)
        return road_lines_from_raster(path, **kwargs, window_px=512, halo_px=64)

    monkeypatch.setattr(road_raster, "road_lines_from_raster", spy)
    out = tmp_path / "r.gpkg"
    result = CliRunner().invoke(
        cli,
        [
            "vectorize",
            "--mask",
            str(network[1]),
            "--kind",
            "roads",
            "--out",
            str(out),
            "--min-spur-m",
            "3",
            "--simplify-m",
            "1",
            "--tau",
            "0.4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert calls == [{"tau": 0.4, "min_spur_m": 3.0, "simplify_m": 1.0}]


def test_merge_snaps_nearly_equal_ends_and_drops_duplicates():
    """Crossing points computed in two windows may differ in the last bits; a line on a core edge comes twice."""
    pieces = np.array(
        [
            shapely.LineString([(0.5, 3.5), (10.0, 3.4)]),
            shapely.LineString([(10.0 + 1e-9, 3.4 - 1e-9), (20.5, 3.5)]),  # the neighbour's piece
            shapely.LineString([(20.5, 3.5), (30.5, 3.5)]),
            shapely.LineString([(30.5, 3.5), (20.5, 3.5)]),
        ],
        dtype=object,
    )  # the same, reversed
    merged = road_raster._merge_pieces(pieces)
    assert len(merged) == 1 and merged[0].length == pytest.approx(30.0, abs=0.01)
    graph = road_raster.lines_graph(merged)
    assert graph.number_of_nodes() == 2 and graph.number_of_edges() == 1
    far = pieces.copy()
    far[1] = shapely.LineString([(10.05, 3.4), (20.5, 3.5)])  # 0.05 px apart: no join
    assert len(road_raster._merge_pieces(far)) == 2


def test_impact_roads_trace_the_pre_mask_window_by_window(tmp_path, monkeypatch):
    """The impact pass traces the pre mask in its own windows (100 px here: 2 x 2 of them) as the whole scene."""
    import geopandas as gpd

    from geovision.impact import roads as impact_roads
    from geovision.impact.workflow import impact_stage

    mask = np.zeros((256, 256), np.uint8)
    mask[120:128, :] = 1
    pre = _write(tmp_path / "pre.tif", mask)
    traced = road_lines(mask.astype(bool), transform=TRANSFORM, crs=UTM, min_spur_m=5.0)["length_m"].sum()
    mask[120:128, 128:] = 0  # the east half is lost
    post = _write(tmp_path / "post.tif", mask)
    windows = []
    trace = impact_roads.trace_window
    monkeypatch.setattr(
        impact_roads, "trace_window", lambda m, read, core: windows.append(core) or trace(m, read, core)
    )
    out = impact_stage(pre, post, tmp_path / "out", kind="roads", cell_px=64, window_px=100, tolerance_px=0)
    assert len(windows) == 4 and {w.width for w in windows} == {128}
    roads = gpd.read_file(out.paths["damaged_roads"])
    assert roads["length_m"].sum() == pytest.approx(traced, rel=0.01)
    assert roads["lost_length_m"].sum() == pytest.approx(traced / 2, rel=0.05)
