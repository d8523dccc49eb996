"""Shipped pretraining configs are valid and keep the evaluation tiles out."""

from __future__ import annotations

from pathlib import Path

import pytest

from geovision.config import read_yaml
from geovision.errors import ConfigError
from geovision.pretrain.config import load_distill_config, load_ssl_config, load_weak_config
from geovision.train.config import load_config

FOLDER = Path(__file__).resolve().parents[2] / "configs" / "pretrain"
LOADERS = {"ssl": load_ssl_config, "distill": load_distill_config, "weak": load_weak_config}


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pretrain_configs_are_valid_and_skip_evaluation_tiles(path):
    loader = next((f for prefix, f in LOADERS.items() if path.name.startswith(prefix)), load_config)
    config = loader(path)
    assert config.trainer.steps > 0
    text = str(read_yaml(path))
    assert "joplin-tornado_00000000" not in text and "388_" not in text


def test_ssl_config_checks_bands(tmp_path):
    raw = {"data": {"sources": [{"image": "a.png", "gsd_m": 0.5}], "bands": ["red"]}}
    with pytest.raises(ConfigError, match="in_channels"):
        load_ssl_config(tmp_path / "c.yaml", raw)
