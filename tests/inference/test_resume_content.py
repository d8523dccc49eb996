"""The work store is keyed by the inputs' content (issue 17.1): batches of a replaced image are never reused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import geovision.inference.batches as batches
import geovision.inference.engine as engine
from geovision.errors import ConfigError
from geovision.inference.sources import SourceSpec

from .test_engine import OPTIONS, _bytes, dummy_ref, write_scene


class Interrupted(Exception):
    pass


def interrupted_run(spec: SourceSpec, out: Path, monkeypatch, *, after: int) -> None:
    """Run segment_scene and stop it after ``after`` stored batches, as a kill would."""
    real, calls = batches.predict_batch, []

    def stopping(*args, **kwargs):
        if len(calls) == after:
            raise Interrupted
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(batches, "predict_batch", stopping)
    with pytest.raises(Interrupted):
        engine.segment_scene(spec, dummy_ref(), out, options=OPTIONS)
    monkeypatch.setattr(batches, "predict_batch", real)


@pytest.fixture
def scenes(tmp_path):
    pre = write_scene(tmp_path / "pre.tif", width=300, height=260, seed=1)
    post = write_scene(tmp_path / "post.tif", width=300, height=260, seed=2)
    other = write_scene(tmp_path / "other_post.tif", width=300, height=260, seed=3)
    return SourceSpec(pre=str(pre), post=str(post), scaling="dtype"), other


def test_resume_after_the_post_image_was_replaced_is_refused(scenes, tmp_path, monkeypatch):
    spec, other = scenes
    out = tmp_path / "out"
    interrupted_run(spec, out, monkeypatch, after=2)
    shutil.copyfile(other, spec.post)  # same path, same size, other pixels
    with pytest.raises(ConfigError, match="input images changed"):
        engine.segment_scene(spec, dummy_ref(), out, options=OPTIONS, resume=True)


def test_a_run_restarts_on_replaced_input_and_matches_a_clean_run(scenes, tmp_path, monkeypatch):
    spec, other = scenes
    out = tmp_path / "out"
    interrupted_run(spec, out, monkeypatch, after=2)
    shutil.copyfile(other, spec.post)
    resumed = engine.segment_scene(spec, dummy_ref(), out, options=OPTIONS, resume=True, restart_changed=True)
    assert resumed.batches_resumed == 0
    clean = engine.segment_scene(spec, dummy_ref(), tmp_path / "clean", options=OPTIONS)
    assert _bytes(resumed.outputs) == _bytes(clean.outputs)


def test_unchanged_inputs_still_resume(scenes, tmp_path, monkeypatch):
    spec, _ = scenes
    out = tmp_path / "out"
    interrupted_run(spec, out, monkeypatch, after=2)
    resumed = engine.segment_scene(spec, dummy_ref(), out, options=OPTIONS, resume=True, restart_changed=True)
    assert resumed.batches_resumed == 2
