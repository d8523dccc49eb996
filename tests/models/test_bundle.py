"""Model bundles: safetensors + JSON, identical reload, strict format checks, no unpickling."""

from __future__ import annotations

import json
import pickle
import warnings

import pytest
import torch

from geovision.errors import ModelBundleError, OutputExistsError
from geovision.models.bundle import (
    BUNDLE_FORMAT,
    BundleMeta,
    DataSource,
    Normalization,
    TrainingInfo,
    load_bundle,
    read_meta,
    save_bundle,
)
from geovision.models.multitask import build_model
from geovision.models.registry import resolve_bundle
from geovision.models.spec import ModelSpec

torch.set_num_threads(1)
TINY = ModelSpec(
    encoder="tu-mobilenetv3_small_050", encoder_weights=None, in_channels=4, decoder_channels=(32, 16, 16, 8, 8)
)


def _meta(spec: ModelSpec = TINY, **extra) -> BundleMeta:
    fields = dict(
        architecture=spec,
        bands=("red", "green", "blue", "nir"),
        normalization=Normalization(mean=(100.0,) * 4, std=(50.0,) * 4),
        gsd_m=0.5,
        thresholds={"buildings": 0.5, "roads": 0.4},
        training=TrainingInfo(data=[DataSource(name="synthetic", licence="Apache-2.0")]),
    )
    return BundleMeta(**{**fields, **extra})


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(TINY).eval()
    path = save_bundle(tmp_path / "tiny.gvmodel", model, _meta())
    return model, path


def test_reload_gives_identical_outputs(saved):
    model, path = saved
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]
    bundle = load_bundle(path)
    assert not bundle.model.training
    x = torch.randn(2, 4, 64, 64)
    with torch.no_grad():
        before, after = model(x), bundle.model(x)
    for task in TINY.tasks:
        assert torch.equal(before[task], after[task])
    assert bundle.meta.thresholds == {"buildings": 0.5, "roads": 0.4}
    assert bundle.meta.weights_sha256 and bundle.meta.created
    assert load_bundle(path / "model.json").meta == bundle.meta


def test_metadata_is_plain_json(saved):
    _, path = saved
    raw = json.loads((path / "model.json").read_text())
    assert raw["format"] == BUNDLE_FORMAT
    assert raw["architecture"]["encoder"] == "tu-mobilenetv3_small_050"
    assert raw["bands"] == ["red", "green", "blue", "nir"]
    assert raw["normalization"]["mean"] == [100.0] * 4
    assert raw["training"]["data"][0]["licence"] == "Apache-2.0"
    assert {"gsd_m", "version", "geovision_version", "thresholds"} <= set(raw)


def test_normalize_uses_bundle_statistics(saved):
    bundle = load_bundle(saved[1])
    assert torch.allclose(bundle.normalize(torch.full((4, 2, 2), 150.0)), torch.ones(4, 2, 2))


def test_float16_bundle_is_smaller_and_close(saved, tmp_path):
    model, path32 = saved
    path16 = save_bundle(tmp_path / "half", model, _meta(), dtype="float16")
    size = lambda p: (p / "model.safetensors").stat().st_size  # noqa: E731
    assert size(path16) < 0.6 * size(path32)
    x = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(load_bundle(path16).model(x)["roads"], model(x)["roads"], atol=5e-2, rtol=5e-2)


@pytest.mark.parametrize("fmt", ["geovision-model/2", "onnx", None])
def test_unknown_format_is_refused(saved, fmt):
    _, path = saved
    raw = json.loads((path / "model.json").read_text())
    raw["format"] = fmt
    (path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelBundleError, match="unknown model bundle format"):
        load_bundle(path)


def test_pickle_files_are_refused_and_never_unpickled(saved, tmp_path, monkeypatch):
    model, path = saved
    checkpoint = tmp_path / "model.pth"
    torch.save(model.state_dict(), checkpoint)
    with pytest.raises(ModelBundleError, match="pickle"):
        load_bundle(checkpoint)

    def boom(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(torch, "load", boom)
    load_bundle(path)  # the bundle path loads with pickle disabled


def test_corrupt_and_incomplete_bundles(saved):
    _, path = saved
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelBundleError, match="checksum"):
        load_bundle(path)
    weights.unlink()
    with pytest.raises(ModelBundleError, match="model.safetensors is missing"):
        load_bundle(path)
    (path / "model.json").write_text("{not json")
    with pytest.raises(ModelBundleError, match="not valid JSON"):
        read_meta(path)
    with pytest.raises(ModelBundleError, match="does not exist"):
        load_bundle(path / "nowhere")


def test_weights_that_do_not_fit_the_architecture(saved, tmp_path):
    model, _ = saved
    other = ModelSpec(**{**TINY.model_dump(), "in_channels": 3})
    path = tmp_path / "mismatch"
    save_bundle(path, model, _meta())
    raw = json.loads((path / "model.json").read_text())
    raw["architecture"] = other.model_dump(mode="json")
    raw["bands"], raw["normalization"] = ["r", "g", "b"], {"mean": [0, 0, 0], "std": [1, 1, 1]}
    (path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelBundleError, match="do not fit"):
        load_bundle(path)


def test_invalid_metadata_is_refused(saved):
    _, path = saved
    raw = json.loads((path / "model.json").read_text())
    raw["thresholds"] = {"buildings": 0.5}
    (path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelBundleError, match="invalid model metadata"):
        load_bundle(path)
    with pytest.raises(ValueError):
        _meta(spec=ModelSpec(**{**TINY.model_dump(), "in_channels": 3}))


def test_warns_on_gsd_or_band_mismatch(saved):
    _, path = saved
    with pytest.warns(UserWarning, match="GSD 2 m"):
        load_bundle(path, gsd_m=2.0)
    with pytest.warns(UserWarning, match="3 bands"):
        load_bundle(path, band_count=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bundle = load_bundle(path, gsd_m=0.55, band_count=4)
    assert bundle.check_input(gsd_m=0.5, band_count=4) == []


def test_overwrite_protection_and_spec_check(saved):
    model, path = saved
    with pytest.raises(OutputExistsError):
        save_bundle(path, model, _meta())
    save_bundle(path, model, _meta(name="again"), overwrite=True)
    assert read_meta(path).name == "again"
    with pytest.raises(ModelBundleError, match="architecture differs"):
        save_bundle(
            path.parent / "x",
            model,
            _meta(spec=ModelSpec(**{**TINY.model_dump(), "tasks": ("roads",)}), thresholds={"roads": 0.5}),
        )


def test_resolve_bundle(saved, tmp_path):
    _, path = saved
    assert resolve_bundle(path) == path
    with pytest.raises(ModelBundleError, match="no model bundle"):
        resolve_bundle(tmp_path / "empty")
