"""`geovision train CONFIG` end to end on the CPU: checkpoints, resume, bundle export and reload."""

from __future__ import annotations

import json
import shutil

import torch
from click.testing import CliRunner

from geovision.cli.main import cli
from geovision.models.bundle import load_bundle
from geovision.models.multitask import build_model
from geovision.train.checkpoint import load_checkpoint


def _run(*args: str):
    return CliRunner().invoke(cli, ["train", *args], catch_exceptions=False)


def test_train_runs_end_to_end_and_bundle_reloads_to_identical_outputs(tiny_config, tmp_path):
    config = tiny_config()
    result = _run(str(config))
    assert result.exit_code == 0, result.output
    assert "trained 4 steps" in result.output and "roads/iou" in result.output
    run = tmp_path / "run"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "validation" in r] == [2, 4]
    assert all(r["loss"] > 0 for r in lines if "loss" in r)
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.pt").is_file()

    bundle = load_bundle(run / "model")
    assert bundle.meta.thresholds == {"buildings": 0.5, "roads": 0.4}
    assert bundle.meta.training.steps == 4 and bundle.meta.training.data[0].licence == "test"
    assert bundle.meta.gsd_m == 0.5 and bundle.meta.bands == ("red", "green", "blue")
    assert "roads/iou" in bundle.meta.training.metrics
    reference = build_model(bundle.meta.architecture, pretrained=False).eval()
    reference.load_state_dict(load_checkpoint(run / "checkpoints" / "last.pt")["model"])
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours, ref = bundle.model(x), reference(x)
    for task in ("buildings", "roads"):
        assert torch.equal(ours[task], ref[task])


def test_resume_continues_exactly(tiny_config, tmp_path):
    config = tiny_config()
    assert _run(str(config)).exit_code == 0
    folder = tmp_path / "run" / "checkpoints"
    straight = load_checkpoint(folder / "last.pt")
    assert straight["step"] == 4
    # pretend the run died after step 2
    shutil.copyfile(folder / "step_0000002.pt", folder / "last.pt")
    (folder / "step_0000004.pt").unlink()
    result = _run(str(config), "--resume")
    assert result.exit_code == 0, result.output
    resumed = load_checkpoint(folder / "last.pt")
    assert resumed["step"] == 4
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, msg=key)


def test_existing_run_is_not_clobbered(tiny_config):
    config = tiny_config(trainer={"steps": 2, "val_every": 2})
    assert _run(str(config)).exit_code == 0
    result = CliRunner().invoke(cli, ["train", str(config)])
    assert result.exit_code == 2
    assert "Error:" in result.output and "--resume" in result.output
    assert _run(str(config), "--overwrite").exit_code == 0


def test_bad_configs_exit_with_code_2(tiny_config, tmp_path):
    config = tiny_config(trainer={"stepz": 3})
    result = CliRunner().invoke(cli, ["train", str(config)])
    assert result.exit_code == 2
    assert "config.yaml" in result.output and "trainer.stepz" in result.output
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "missing.yaml" in result.output
    config = tiny_config(data={"train": [{"kind": "geotiff", "image": "nope.tif", "labels": {}}]})
    result = CliRunner().invoke(cli, ["train", str(config)])
    assert result.exit_code == 2 and "nope.tif" in result.output


def test_command_line_overrides(tiny_config, synth_event, tmp_path, monkeypatch):
    config = tiny_config(data_root="/nowhere")
    monkeypatch.chdir(synth_event.parent)
    result = _run(
        str(config),
        "--data-root",
        synth_event.name,
        "--steps",
        "2",
        "--batch-size",
        "1",
        "--device",
        "cpu",
        "--output-dir",
        str(tmp_path / "elsewhere"),
    )
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    assert load_bundle(tmp_path / "elsewhere" / "model").meta.training.config["trainer"]["batch_size"] == 1


def test_progress_line_gives_steps_per_second_and_eta(tiny_config, tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="geovision.train.run")
    assert _run(str(tiny_config())).exit_code == 0
    lines = [r.getMessage() for r in caplog.records if "steps/s" in r.getMessage()]
    assert lines and "ETA" in lines[-1] and "/4 " in lines[-1]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("steps_per_s", 0) > 0 for r in records)
