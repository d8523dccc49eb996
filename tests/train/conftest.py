"""A synthetic scene generated once per session and a tiny, fast training config around it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

torch.set_num_threads(1)

TINY_MODEL = {"encoder": "tu-mobilenetv3_small_050", "encoder_weights": None, "decoder_channels": [16, 16, 8, 8, 8]}


@pytest.fixture(scope="session")
def synth_event(tmp_path_factory) -> Path:
    from geovision.synth import generate_event

    return generate_event(tmp_path_factory.mktemp("synth") / "event", width=192, height=192, seed=11).out_dir


@pytest.fixture
def tiny_config(synth_event, tmp_path):
    """``tiny_config(**overrides) -> path`` of a YAML config training 4 steps on 64 px chips."""

    def make(**sections) -> Path:
        raw = {
            "name": "tiny",
            "output_dir": str(tmp_path / "run"),
            "data_root": str(synth_event),
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
            "trainer": {
                "steps": 4,
                "batch_size": 2,
                "val_every": 2,
                "checkpoint_every": 2,
                "log_every": 1,
                "keep_checkpoints": 5,
            },
            "bundle": {"select": "last", "thresholds": {"roads": 0.4}},
        }
        for key, value in sections.items():
            raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return make
