"""Training config: strict pydantic validation, YAML loading, path resolution, scene building."""

from __future__ import annotations

from pathlib import Path

import pytest

from geovision.errors import ConfigError, MissingFileError
from geovision.train.config import GeoTiffSource, SyntheticSource, load_config, parse_config
from geovision.train.run import build_scenes

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"data": {"train": [{"kind": "image", "image": "a.png", "masks": {"roads": "m.png"}, "gsd_m": 0.5}]}}


def test_default_config_is_valid_and_keeps_evaluation_tiles_out():
    config = load_config(REPO / "configs" / "train" / "default.yaml")
    assert config.model.encoder == "tu-tf_efficientnet_lite0" and config.model.encoder_weights == "imagenet"
    paths = " ".join(str(v) for s in config.data.train for v in s.model_dump().values())
    assert "joplin-tornado_00000000" not in paths and "388_" not in paths
    assert {s.kind for s in config.data.train} == {"synthetic", "xbd", "image"}  # Vegas img0 (geotiff) is eval-only
    expected = (REPO.parent / "shared" / "data" / "deepglobe_roads").resolve()
    assert config.resolve("deepglobe_roads").resolve() == expected


@pytest.mark.parametrize("path", sorted((REPO / "configs" / "train").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    assert load_config(path).trainer.steps > 0


def test_defaults_and_relative_paths(tmp_path):
    config = parse_config(MINIMAL, path=tmp_path / "c.yaml")
    assert config.model.tasks == ("buildings", "roads") and config.data.gsd_m == 0.5
    assert config.resolve("a.png") == tmp_path / "." / "a.png"
    assert config.resolve("/abs/a.png") == Path("/abs/a.png")
    assert config.out_dir == Path("outputs/train/train")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"trainer": {"stepz": 1}}, "trainer.stepz"),
        ({"trainer": {"amp": "fp8"}}, "trainer.amp"),
        ({"loss": {"task_weights": {"water": 1.0}}}, "unknown tasks"),
        ({"bundle": {"thresholds": {"water": 0.5}}}, "unknown tasks"),
        ({"model": {"in_channels": 4}}, "must match model.in_channels"),
        ({"data": {"train": [{"kind": "tiff", "image": "a"}]}}, "data.train.0"),
        (
            {"data": {"train": [{"kind": "xbd", "image": "a.png", "labels": "a.json", "gsd_m": 0.5, "task": "water"}]}},
            "does not have",
        ),
    ],
)
def test_invalid_configs_name_the_problem(change, message, tmp_path):
    raw = {**MINIMAL, **change}
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(raw, path=tmp_path / "bad.yaml")
    assert "bad.yaml" in str(info.value)


def test_yaml_problems(tmp_path):
    with pytest.raises(MissingFileError):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "evil.yaml").write_text("data: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "evil.yaml")


def test_build_scenes_from_every_source_kind(synth_event, tmp_path):
    config = parse_config({"data_root": str(synth_event), **MINIMAL}, path=tmp_path / "c.yaml")
    sources = [
        GeoTiffSource(kind="geotiff", image="pre.tif", labels={"roads": "roads.gpkg"}, line_width_m=4),
        SyntheticSource(kind="synthetic", count=1, width=64, height=64, seed=2, dates=("pre", "post")),
    ]
    scenes = build_scenes(config, sources, cache_dir=tmp_path / "cache")
    assert [s.name for s in scenes] == ["pre", "tornado_0002_64x64_pre", "tornado_0002_64x64_post"]
    assert list(scenes[0].targets) == ["roads"]
    assert (tmp_path / "cache" / "synthetic" / "tornado_0002_64x64" / "post.tif").is_file()
