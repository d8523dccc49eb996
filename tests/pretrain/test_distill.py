"""Teacher/student: pseudo-labels from a teacher bundle, the `pretrain distill` command (two phases)."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from geovision.cli.main import cli
from geovision.models.bundle import BundleMeta, Normalization, load_bundle, save_bundle
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec
from geovision.pretrain.distill import PseudoLabeller

from .conftest import TINY_MODEL, write_yaml


def _teacher(tmp_path, *, tasks=("buildings", "roads"), mean=(0.0,) * 3, std=(255.0,) * 3):
    torch.manual_seed(1)
    spec = ModelSpec(**{**TINY_MODEL, "tasks": tasks})
    model = build_model(spec, pretrained=False).eval()
    meta = BundleMeta(
        architecture=spec,
        bands=("red", "green", "blue"),
        normalization=Normalization(mean=mean, std=std),
        gsd_m=0.5,
        thresholds={t: 0.5 for t in tasks},
    )
    return save_bundle(tmp_path / "teacher", model, meta)


def test_pseudo_labels_are_the_teachers_probabilities_on_its_own_normalisation(tmp_path):
    teacher = load_bundle(_teacher(tmp_path, tasks=("buildings",)))
    raw = torch.rand(2, 3, 32, 32) * 255
    student_mean, student_std = (127.5,) * 3, (127.5,) * 3
    batch = {"image": (raw - 127.5) / 127.5, "valid": torch.ones(2, 32, 32, dtype=torch.bool)}
    labeller = PseudoLabeller(teacher, tasks=("buildings", "roads"), mean=student_mean, std=student_std)
    out = labeller(batch)
    with torch.no_grad():
        expected = torch.sigmoid(teacher.model(raw / 255.0)["buildings"][:, 0])
    torch.testing.assert_close(out["mask_buildings"], expected, atol=1e-5, rtol=1e-4)
    assert out["labelled"]["buildings"].all() and not out["labelled"]["roads"].any()
    hard = PseudoLabeller(teacher, tasks=("buildings",), mean=student_mean, std=student_std, soft=False)(batch)
    assert torch.equal(hard["mask_buildings"], (expected >= 0.5).float())


def test_pretrain_distill_trains_the_student_on_pseudo_labels_then_fine_tunes(train_raw, event, tmp_path):
    teacher = _teacher(tmp_path)
    raw = train_raw(
        "student",
        distill={
            "teacher": str(teacher),
            "steps": 2,
            "warmup_steps": 1,
            "unlabelled": [{"image": str(event / "p*.tif"), "name": "synthetic pair", "licence": "CC0-1.0"}],
        },
    )
    raw["model"]["decoder_channels"] = [8, 8, 8, 8, 8]
    result = CliRunner().invoke(
        cli, ["pretrain", "distill", str(write_yaml(tmp_path / "d.yaml", raw))], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "2 pseudo-label steps, 2 fine-tuning steps" in result.output and "buildings/iou" in result.output
    pseudo, final = tmp_path / "student" / "pseudo", tmp_path / "student" / "finetune"
    logs = [json.loads(line) for line in (pseudo / "metrics.jsonl").read_text().splitlines()]
    assert any("validation" in r for r in logs) and all(r["loss"] > 0 for r in logs if "loss" in r)
    bundle = load_bundle(final / "model")
    assert bundle.meta.training.config["init_from"] == str(pseudo / "model")
    assert bundle.meta.architecture.decoder_channels == (8, 8, 8, 8, 8)
    started = load_bundle(pseudo / "model").model.state_dict()
    assert any(not torch.equal(v, started[k]) for k, v in bundle.model.state_dict().items())
    data = {d.name: d for d in bundle.meta.training.data}  # the model card lists every source
    assert data["synthetic pair"].licence == "CC0-1.0" and "pseudo-labels" in data["synthetic pair"].notes
    teacher_meta = load_bundle(teacher).meta
    assert data[f"teacher: {teacher_meta.name} {teacher_meta.version}"].licence == teacher_meta.licence
