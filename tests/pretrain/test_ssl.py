"""Contrastive pretraining: MoCo queue, SimCLR targets, learning, the `pretrain ssl` command, init_from."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from geovision.cli.main import cli
from geovision.errors import ConfigError, ModelBundleError
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec
from geovision.pretrain.ssl import ContrastiveLoss, MoCo, SimCLR
from geovision.train.optim import build_optimizer
from geovision.train.run import init_weights, read_encoder

from .conftest import TINY_ENCODER, TINY_MODEL, write_yaml


class PixelEncoder(nn.Module):
    """A stand-in smp encoder: returns ``[input, features]`` like smp encoders do."""

    out_channels = [3, 16]

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))

    def forward(self, x):
        return [x, self.conv(x)]


def test_moco_queue_is_a_ring_buffer():
    torch.manual_seed(0)
    moco = MoCo(PixelEncoder(), dim=4, hidden_dim=8, queue=5)
    first, second = torch.eye(4)[:3], torch.eye(4)[1:]
    moco._enqueue(first)
    assert int(moco.queue_ptr) == 3 and torch.equal(moco.queue[:3], first)
    moco._enqueue(second)
    assert int(moco.queue_ptr) == 1
    assert torch.equal(moco.queue[3:], second[:2]) and torch.equal(moco.queue[0], second[2])
    out = moco(torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8))
    assert out["logits"].shape == (2, 6) and torch.equal(out["target"], torch.zeros(2))
    assert all(not p.requires_grad for p in moco.target.parameters())


def test_simclr_positive_is_the_other_view():
    torch.manual_seed(0)
    model = SimCLR(PixelEncoder(), dim=8, hidden_dim=16, temperature=0.1)
    views = torch.randn(4, 3, 8, 8)
    out = model(views, views)
    assert out["logits"].shape == (8, 8)
    assert torch.equal(out["logits"].argmax(1), out["target"].long())  # identical views: the positive wins
    assert torch.isinf(out["logits"][0, 4]) and out["target"].tolist() == [0, 1, 2, 3] * 2


@pytest.mark.parametrize("method", ["moco", "simclr"])
def test_contrastive_training_learns_to_match_views(method):
    torch.manual_seed(0)
    encoder = PixelEncoder()
    model = (
        MoCo(encoder, dim=16, hidden_dim=32, queue=32, momentum=0.9, temperature=0.2)
        if method == "moco"
        else SimCLR(encoder, dim=16, hidden_dim=32, temperature=0.2)
    )
    optimizer = build_optimizer(model, lr=0.01, weight_decay=0.0)
    loss_fn, losses = ContrastiveLoss(), []
    for _ in range(40):  # new images every step (a queue must not hold the positives), told apart by colour
        images = torch.randn(8, 3, 1, 1) + 0.5 * torch.randn(8, 3, 16, 16)
        noisy = images + 0.3 * torch.randn_like(images)
        loss, logs = loss_fn(model(images.flip(-1), noisy), {})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(logs["loss"])
    # moco starts easy (a random queue), so compare with the steps after its queue has filled
    assert sum(losses[-5:]) < 0.85 * sum(losses[3:8])


def _ssl_raw(event, tmp_path, **method) -> dict:
    return {
        "name": "ssl",
        "output_dir": str(tmp_path / "ssl"),
        "model": {"encoder": TINY_ENCODER, "encoder_weights": None},
        "data": {
            "chip_px": 64,
            "sources": [
                {"image": str(event / "pre.tif"), "pair": str(event / "post.tif")},
                {"image": str(event / "p*t.tif"), "licence": "test"},
            ],
        },
        "method": {"dim": 16, "hidden_dim": 32, "queue": 16, **method},
        "optim": {"warmup_steps": 1, "lr": 0.001, "base_batch_size": 4},
        "trainer": {"steps": 3, "batch_size": 2, "accumulate": 2, "checkpoint_every": 2, "log_every": 1},
    }


def test_pretrain_ssl_command_writes_an_encoder_that_training_starts_from(event, tmp_path):
    config = write_yaml(tmp_path / "ssl.yaml", _ssl_raw(event, tmp_path))
    result = CliRunner().invoke(cli, ["pretrain", "ssl", str(config), "--device", "cpu"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = tmp_path / "ssl" / "encoder.safetensors"
    assert "pretrained 3 steps" in result.output and str(path) in result.output
    weights, meta = read_encoder(path)
    assert meta["encoder"] == TINY_ENCODER and meta["method"] == "moco" and meta["steps"] == "3"
    assert json.loads(meta["bands"]) == ["red", "green", "blue"]
    logs = [json.loads(line) for line in (tmp_path / "ssl" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [1, 2, 3] and all("accuracy" in r for r in logs)
    resolved = (tmp_path / "ssl" / "checkpoints" / "resolved.yaml").read_text()
    assert "global_batch_size: 4" in resolved

    model = build_model(ModelSpec(**TINY_MODEL), pretrained=False)
    assert init_weights(model, path) == "encoder"
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, weights[key]), key
    other = build_model(
        ModelSpec(encoder="tu-mobilenetv3_small_100", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8)),
        pretrained=False,
    )
    with pytest.raises(ConfigError, match="same encoder"):
        init_weights(other, path)
    (tmp_path / "fake.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelBundleError):
        init_weights(model, tmp_path / "fake.safetensors")


def test_simclr_run_and_bad_config(event, tmp_path):
    from geovision.pretrain.config import load_ssl_config
    from geovision.pretrain.ssl import pretrain_ssl

    config = load_ssl_config(write_yaml(tmp_path / "simclr.yaml", _ssl_raw(event, tmp_path, name="simclr")))
    result = pretrain_ssl(config.model_copy(update={"trainer": config.trainer.model_copy(update={"steps": 2})}))
    assert result.step == 2 and result.encoder.is_file() and result.loss > 0
    bad = write_yaml(tmp_path / "bad.yaml", {**_ssl_raw(event, tmp_path), "method": {"name": "byol"}})
    outcome = CliRunner().invoke(cli, ["pretrain", "ssl", str(bad)])
    assert outcome.exit_code == 2 and "method.name" in outcome.output


@pytest.mark.slow  # ~30 s: two processes start torch
@pytest.mark.parametrize("method", ["moco", "simclr"])
def test_pretrain_ssl_under_torchrun_on_two_cpu_ranks(event, tmp_path, method):
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = write_yaml(tmp_path / "ssl.yaml", _ssl_raw(event, tmp_path, name=method))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "-m",
        "geovision",
        "pretrain",
        "ssl",
        str(config),
        "--device",
        "cpu",
        "--steps",
        "2",
    ]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    _, meta = read_encoder(tmp_path / "ssl" / "encoder.safetensors")
    assert meta["method"] == method and meta["steps"] == "2"
    resolved = (tmp_path / "ssl" / "checkpoints" / "resolved.yaml").read_text()
    assert "world_size: 2" in resolved and "global_batch_size: 8" in resolved
    logs = (tmp_path / "ssl" / "metrics.jsonl").read_text().splitlines()
    assert len(logs) == 2  # rank 0 alone logs
