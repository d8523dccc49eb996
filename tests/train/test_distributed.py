"""Data-parallel training: torchrun with 2 CPU ranks equals one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from geovision.errors import ConfigError
from geovision.train.checkpoint import load_checkpoint
from geovision.train.config import load_config
from geovision.train.distributed import DistContext, global_batch_size, rank_share, resolve_backend, train_loader
from geovision.train.optim import scale_lr
from geovision.train.run import train

REPO = Path(__file__).resolve().parents[2]
# per-sample-separable objective: BCE only (batch Dice is not a mean over samples), BatchNorm frozen
# (per-rank batch statistics differ from global ones without SyncBatchNorm, which is CUDA-only)
EXACT = {
    "loss": {"dice_weight": 0.0},
    "data": {"augment": {"scale": [1.0, 1.0], "brightness": 0.0, "contrast": 0.0}},
    "optim": {"warmup_steps": 1, "lr": 0.002, "base_batch_size": 4},
}


def _config(tiny_config, tmp_path, name: str, **trainer) -> Path:
    path = tiny_config(
        **EXACT,
        trainer={"steps": 3, "val_every": 3, "checkpoint_every": 3, "freeze_batchnorm": True, **trainer},
        output_dir=str(tmp_path / name),
    )
    return path.rename(tmp_path / f"{name}.yaml")


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "last.pt")["model"]


def _max_diff(a: dict, b: dict) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a if a[k].is_floating_point())


# ~30-40 s (two processes start torch): the acceptance test of distributed training, kept in `make test`
def test_torchrun_two_cpu_ranks_match_one_process_with_the_same_global_batch(tiny_config, tmp_path):
    ddp_config = _config(tiny_config, tmp_path, "ddp", batch_size=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "-m",
        "geovision",
        "train",
        str(ddp_config),
        "--device",
        "cpu",
    ]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    single = train(load_config(_config(tiny_config, tmp_path, "single", batch_size=4)))
    smaller = train(load_config(_config(tiny_config, tmp_path, "smaller", batch_size=2)))
    ddp_run, single_run = tmp_path / "ddp", single.bundle.parent
    ddp, one, other = _weights(ddp_run), _weights(single_run), _weights(smaller.bundle.parent)
    moved = _max_diff(one, other)  # another global batch (2, and its lr) trains to other weights
    assert moved > 1e-3
    assert _max_diff(ddp, one) < 1e-4 < moved

    resolved = yaml.safe_load((ddp_run / "checkpoints" / "resolved.yaml").read_text())["runtime"]
    assert resolved["world_size"] == 2 and resolved["backend"] == "gloo"
    assert resolved["global_batch_size"] == 4 and resolved["lr"] == pytest.approx(0.002)
    # rank 0 alone wrote the log: one line per step, validation once, on the whole validation set
    lines = [json.loads(line) for line in (ddp_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "loss" in r] == [1, 2, 3]
    val_ddp = next(r["validation"] for r in lines if "validation" in r)
    val_one = next(
        json.loads(line)["validation"]
        for line in (single_run / "metrics.jsonl").read_text().splitlines()
        if "validation" in line
    )
    assert set(val_ddp) == set(val_one)
    for key, value in val_one.items():  # val_loss is a mean of per-batch means: batches differ by rank
        if key != "val_loss":
            assert val_ddp[key] == pytest.approx(value, abs=2e-3), key


def test_gradient_accumulation_equals_the_whole_batch(tiny_config, tmp_path):
    whole = train(load_config(_config(tiny_config, tmp_path, "whole", batch_size=4)))
    accumulated = train(load_config(_config(tiny_config, tmp_path, "acc", batch_size=2, accumulate=2)))
    resolved = yaml.safe_load((tmp_path / "acc" / "checkpoints" / "resolved.yaml").read_text())["runtime"]
    assert resolved["global_batch_size"] == 4 and resolved["world_size"] == 1
    assert _max_diff(_weights(whole.bundle.parent), _weights(accumulated.bundle.parent)) < 1e-4


def test_ranks_share_each_global_batch_in_a_fixed_order():
    stream = list(range(24))
    single = [b.tolist() for b in train_loader(stream, batch_size=4, context=DistContext())]
    ranks = [
        [b.tolist() for b in train_loader(stream, batch_size=2, context=DistContext(rank=r, world_size=2))]
        for r in (0, 1)
    ]
    for step, batch in enumerate(single):
        assert sorted(ranks[0][step] + ranks[1][step]) == batch
    resumed = [
        b.tolist()
        for b in train_loader(stream, batch_size=2, start_sample=8, context=DistContext(rank=1, world_size=2))
    ]
    assert resumed == ranks[1][2:]
    with pytest.raises(ConfigError, match="evenly"):
        train_loader(list(range(5)), batch_size=1, context=DistContext(rank=0, world_size=2))
    shares = [list(rank_share(list(range(7)), DistContext(rank=r, world_size=3))) for r in range(3)]
    assert sorted(sum(shares, [])) == list(range(7))  # validation: every sample once, none padded


def test_learning_rate_scaling_rules_and_backends():
    assert global_batch_size(8, accumulate=2, world_size=4) == 64
    assert scale_lr(1e-3, batch_size=64, base_batch_size=16, rule="linear") == pytest.approx(4e-3)
    assert scale_lr(1e-3, batch_size=64, base_batch_size=16, rule="sqrt") == pytest.approx(2e-3)
    assert scale_lr(1e-3, batch_size=64, base_batch_size=16, rule="none") == 1e-3
    with pytest.raises(ConfigError, match="scaling"):
        scale_lr(1e-3, batch_size=64, base_batch_size=16, rule="cubic")
    assert resolve_backend("auto", torch.device("cpu")) == "gloo"
    assert resolve_backend("auto", torch.device("cuda")) == "nccl"
    with pytest.raises(ConfigError, match="nccl"):
        resolve_backend("nccl", torch.device("cpu"))


def test_frozen_batchnorm_keeps_running_statistics():
    from geovision.models.multitask import build_model
    from geovision.models.spec import ModelSpec
    from geovision.train.device import select_precision
    from geovision.train.engine import Trainer
    from geovision.train.losses import MultiTaskLoss
    from geovision.train.optim import build_optimizer

    torch.manual_seed(0)
    spec = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))
    batch = {
        "image": torch.randn(2, 3, 64, 64),
        "valid": torch.ones(2, 64, 64, dtype=torch.bool),
        "mask_buildings": torch.zeros(2, 64, 64),
        "mask_roads": torch.zeros(2, 64, 64),
        "labelled": {"buildings": torch.tensor([True, True]), "roads": torch.tensor([True, True])},
    }
    for frozen in (True, False):
        model = build_model(spec)
        before = {k: v.clone() for k, v in model.state_dict().items() if "running_mean" in k}
        trainer = Trainer(
            model,
            optimizer=build_optimizer(model, lr=1e-3),
            scheduler=None,
            loss_fn=MultiTaskLoss(spec.tasks),
            device=torch.device("cpu"),
            precision=select_precision(torch.device("cpu"), "off"),
            freeze_bn=frozen,
        )
        trainer.train_step(batch)
        after = model.state_dict()
        unchanged = all(torch.equal(after[k], v) for k, v in before.items())
        assert unchanged == frozen


def test_epochs_reshuffle_through_set_epoch_and_single_process_session(monkeypatch):
    import itertools

    from torch.utils.data import DataLoader, DistributedSampler

    from geovision.train.distributed import distributed_session, epochs

    sampler = DistributedSampler(list(range(8)), num_replicas=2, rank=0, shuffle=True, seed=1)
    loader = DataLoader(list(range(8)), batch_size=4, sampler=sampler)
    first, second = [b.tolist() for b in itertools.islice(epochs(loader), 2)]
    assert sampler.epoch == 1 and second == list(sampler) and first != second
    sampler.set_epoch(0)
    assert first == list(sampler)
    assert list(epochs(DataLoader([], batch_size=1))) == []
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with distributed_session("cpu") as (context, device):
        assert context == DistContext() and device == torch.device("cpu") and context.is_main
        assert float(context.all_reduce_sum(torch.tensor(2.0))) == 2.0
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        with distributed_session("cpu"):
            pass
