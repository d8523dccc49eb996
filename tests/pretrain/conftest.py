"""A small synthetic event and tiny-model configs for pretraining tests (64 px chips, a few steps)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

torch.set_num_threads(1)

TINY_ENCODER = "tu-mobilenetv3_small_050"
TINY_MODEL = {"encoder": TINY_ENCODER, "encoder_weights": None, "decoder_channels": [16, 16, 8, 8, 8]}


@pytest.fixture(scope="session")
def event(tmp_path_factory) -> Path:
    from geovision.synth import generate_event

    return generate_event(tmp_path_factory.mktemp("synth") / "event", width=160, height=160, seed=5).out_dir


def write_yaml(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def train_raw(event, tmp_path):
    """A training config mapping (2 steps, 64 px chips) on the synthetic event."""

    def make(name: str = "run", **extra) -> dict:
        return {
            "name": name,
            "output_dir": str(tmp_path / name),
            "data_root": str(event),
            "model": dict(TINY_MODEL),
            "data": {
                "chip_px": 64,
                "train": [
                    {
                        "kind": "geotiff",
                        "image": "pre.tif",
                        "licence": "test",
                        "labels": {"buildings": "buildings_pre.tif", "roads": "roads_pre.tif"},
                    }
                ],
                "val": [
                    {
                        "kind": "geotiff",
                        "image": "post.tif",
                        "labels": {"buildings": "buildings_post.tif", "roads": "roads_post.tif"},
                    }
                ],
            },
            "optim": {"warmup_steps": 1, "lr": 0.005},
            "trainer": {"steps": 2, "batch_size": 2, "val_every": 2, "checkpoint_every": 2, "log_every": 1},
            "bundle": {"select": "last"},
            **extra,
        }

    return make
