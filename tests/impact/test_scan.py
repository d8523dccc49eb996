"""The impact stage's one pass: each mask file read once per window, and the outputs of before it."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from affine import Affine

from geovision.impact.scan import padded
from geovision.impact.workflow import impact_stage
from geovision.io.grid import Grid
from geovision.io.raster import RasterSource

from .pass_event import CASES, GOLDEN, SHAPE, arguments, outputs, write_event


@pytest.fixture(scope="module")
def event(tmp_path_factory):
    return write_event(tmp_path_factory.mktemp("pass") / "event")


def _flatten(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _same(new: dict, old: dict, *, skip: tuple[str, ...] = ()) -> None:
    """Equal, but for persons: summed per cell and zone (rate x weights) rather than pixel by pixel,
    they may differ in the last bits (float64) or by one float32 step (the COG's bands)."""
    got, want = dict(_flatten(new)), dict(_flatten(old))
    assert got.keys() == want.keys()
    for key, expected in want.items():
        value = got[key]
        if any(part in key for part in skip):
            continue
        if "persons" in key and isinstance(expected, float):
            rel = 2e-7 if key.startswith("/bands") else 1e-12
            assert value == pytest.approx(expected, rel=rel, abs=1e-9), key
        else:
            assert value == expected, key


@pytest.mark.parametrize("case", list(CASES))
def test_outputs_equal_the_previous_implementation(event, tmp_path, case):
    """The golden outputs were written by the implementation before the single pass (three reads)."""
    golden = json.loads(GOLDEN.read_text())[case]
    _same(outputs(impact_stage(out_dir=tmp_path, **arguments(case, event))), golden)


@pytest.mark.parametrize("case", ["buildings_census_model", "roads_traced", "roads_given"])
def test_small_windows_give_the_same_grid_persons_and_roads(event, tmp_path, case):
    """30 windows of 128 px instead of one: the same counts, persons and damaged roads.

    Model intervals are left out: a building cut by a window edge is two buildings there.
    """
    golden = json.loads(GOLDEN.read_text())[case]
    new = outputs(impact_stage(out_dir=tmp_path, window_px=128, **arguments(case, event)))
    intervals = ("_expected", "_low", "_high")
    if case == "roads_traced":  # the lines are joined across window edges: lengths to rounding
        for name, values in new.pop("roads").items():
            assert np.allclose(values, golden["roads"][name], rtol=1e-9, atol=1e-9, equal_nan=True), name
        golden = {k: v for k, v in golden.items() if k != "roads"}
        for key in ("road_length_m", "road_lost_m"):
            assert new["summary"].pop(key) == pytest.approx(golden["summary"].pop(key), rel=1e-9)
        for key in ("road_length_m", "road_lost_m", "road_lost_share"):
            assert np.allclose(
                np.array(new["bands"].pop(key), float),
                np.array(golden["bands"].pop(key), float),
                rtol=2e-7,
                equal_nan=True,
            )
    _same(new, golden, skip=intervals)


@pytest.mark.parametrize("case", ["buildings_census_model", "roads_traced"])
def test_each_mask_file_is_read_once_per_window(event, tmp_path, monkeypatch, case):
    reads: Counter = Counter()
    read = RasterSource.read

    def counting(self, window, **kwargs):
        reads[self.path, tuple(window)] += 1
        return read(self, window, **kwargs)

    monkeypatch.setattr(RasterSource, "read", counting)
    arguments_ = arguments(case, event)
    impact_stage(out_dir=tmp_path, window_px=128, **arguments_)
    halo = 128 if case == "roads_traced" else arguments_["tolerance_px"]  # the road tracer's halo
    tiles = Grid(None, Affine.identity(), SHAPE[1], SHAPE[0]).tiles(128, multiple=64)
    expected = Counter(tuple(padded(tile.crop, halo)) for tile in tiles)
    assert len(expected) == 30
    for name in ("pre_mask", "post_mask", "valid"):
        path = str(arguments_[name])
        assert Counter({w: n for (p, w), n in reads.items() if p == path}) == expected, name
