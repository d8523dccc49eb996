"""The models shipped in the package: they load, their cards list every training source, licences carry over."""

from __future__ import annotations

import pytest
import torch

from geovision.models.bundle import load_bundle
from geovision.models.registry import BUILTIN, resolve_bundle

SHIPPED = sorted(BUILTIN)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_bundle_loads_and_its_card_lists_every_source_and_licence(name):
    bundle = load_bundle(resolve_bundle(name))
    meta = bundle.meta
    card = (resolve_bundle(name) / "MODEL_CARD.md").read_text()
    assert meta.name in card and meta.licence in card
    for source in meta.training.data:
        assert source.licence and source.licence != "unknown", source.name
        assert f"| {source.name} | {source.licence} |" in card
    if any("NC" in source.licence for source in meta.training.data):  # non-commercial data -> NC model
        assert "NC" in meta.licence
    assert {"xBD Joplin tile 0", "DeepGlobe roads train/388"} <= {h.split(" (")[0] for h in meta.training.held_out}


def _gflop(model: torch.nn.Module) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, 512, 512))
    return counter.get_total_flops() / 1e9


def test_default_is_the_robust_model_with_the_fast_architecture():
    robust, fast = load_bundle(resolve_bundle("robust")), load_bundle(resolve_bundle("fast"))
    assert resolve_bundle("default") == resolve_bundle("robust")
    assert robust.meta.architecture == fast.meta.architecture  # the same inference cost
    assert robust.meta.training.steps == 13600 and robust.meta.training.wall_time_s > 3600
    assert robust.meta.training.base.startswith("geovision-robust 0.2.0")  # stage 2 continues stage 1
    assert "SpaceNet 3 Vegas img0" not in {d.name for d in robust.meta.training.data}


def test_fast_model_needs_under_half_the_unets_compute():
    fast, unet = load_bundle(resolve_bundle("fast")), load_bundle(resolve_bundle("unet"))
    assert fast.meta.architecture.shared_decoder and fast.meta.architecture.decoder == "fpn"
    assert _gflop(fast.model) < 0.5 * _gflop(unet.model)
    assert fast.meta.training.steps > 0 and any("pseudo-labels" in (d.notes or "") for d in fast.meta.training.data)


def test_segment_with_the_fast_model_by_name(tmp_path):
    import numpy as np
    import rasterio
    from click.testing import CliRunner

    from geovision.cli.main import cli
    from tests.rasters import write_geotiff

    paths = []
    for date, seed in (("pre", 1), ("post", 2)):
        data = np.random.default_rng(seed).integers(1, 256, (3, 128, 160), dtype=np.uint8)
        paths.append(write_geotiff(tmp_path / f"{date}.tif", data, origin=(365000, 4100000)))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "segment",
            "--pre",
            str(paths[0]),
            "--post",
            str(paths[1]),
            "--out",
            str(out),
            "--model",
            "fast",
            "--runtime",
            "fp32",
            "--device",
            "cpu",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(out / "buildings_post_mask.tif") as src:
        assert (src.width, src.height) == (160, 128) and set(np.unique(src.read(1))) <= {0, 1}
