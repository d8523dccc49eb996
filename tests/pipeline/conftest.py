"""Shared fixtures of the run-pipeline tests: a tiny random-weight model bundle."""

import pytest
import torch

from geovision.models.bundle import BundleMeta, DataSource, Normalization, TrainingInfo, save_bundle
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec

TINY = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A model bundle with random weights (fast; for plumbing, not accuracy)."""
    torch.manual_seed(0)
    meta = BundleMeta(
        architecture=TINY,
        bands=("red", "green", "blue"),
        normalization=Normalization(mean=(127.5,) * 3, std=(127.5,) * 3),
        gsd_m=0.5,
        thresholds={"buildings": 0.5, "roads": 0.5},
        training=TrainingInfo(data=[DataSource(name="none (random weights, test only)", licence="Apache-2.0")]),
    )
    return save_bundle(tmp_path_factory.mktemp("bundle") / "tiny", build_model(TINY, pretrained=False).eval(), meta)
