"""A small synthetic event with map labels and a tiny random-weight bundle for the adapt tests."""

from __future__ import annotations

import pytest
import torch

from geovision.models.bundle import BundleMeta, DataSource, Normalization, TrainingInfo, save_bundle
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec

TINY = ModelSpec(
    encoder="tu-mobilenetv3_small_050",
    encoder_weights=None,
    decoder="fpn",
    shared_decoder=True,
    decoder_channels=(16, 32),
)


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    torch.manual_seed(0)
    meta = BundleMeta(
        name="tiny",
        architecture=TINY,
        bands=("red", "green", "blue"),
        normalization=Normalization(mean=(127.5,) * 3, std=(127.5,) * 3),
        gsd_m=0.5,
        thresholds={"buildings": 0.5, "roads": 0.5},
        licence="Apache-2.0",
        training=TrainingInfo(data=[DataSource(name="none (random weights)", licence="Apache-2.0")]),
    )
    return save_bundle(tmp_path_factory.mktemp("bundle") / "tiny", build_model(TINY, pretrained=False).eval(), meta)


@pytest.fixture(scope="module")
def event(tmp_path_factory):
    from geovision.synth import generate_event

    return generate_event(tmp_path_factory.mktemp("event"), width=384, height=384, gsd_m=0.5, seed=2)
