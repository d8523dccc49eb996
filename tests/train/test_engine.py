"""Engine pieces: optimiser groups, warm-up + cosine, LR scaling, device/AMP, checkpoints, Trainer."""

from __future__ import annotations

import math

import pytest
import torch

from geovision.errors import ConfigError, CorruptFileError, MissingFileError
from geovision.inference.runtime import pick_device
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec
from geovision.train.checkpoint import load_checkpoint, prune_checkpoints, save_checkpoint, step_checkpoints
from geovision.train.device import select_precision, use_channels_last
from geovision.train.engine import Trainer
from geovision.train.losses import MultiTaskLoss
from geovision.train.optim import build_optimizer, build_scheduler, parameter_groups, scale_lr, warmup_cosine

SPEC = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))


def _batch() -> dict:
    generator = torch.Generator().manual_seed(0)
    mask = torch.zeros(2, 64, 64)
    mask[:, 16:40, 8:30] = 1
    image = mask[:, None].repeat(1, 3, 1, 1) + 0.1 * torch.randn(2, 3, 64, 64, generator=generator)
    return {
        "image": image,
        "valid": torch.ones(2, 64, 64, dtype=torch.bool),
        "mask_buildings": mask,
        "mask_roads": torch.zeros(2, 64, 64),
        "labelled": {"buildings": torch.tensor([True, True]), "roads": torch.tensor([False, False])},
    }


def _trainer(*, hooks=(), lr=0.01, channels_last=False, amp="off") -> Trainer:
    torch.manual_seed(0)
    model = build_model(SPEC)
    optimizer = build_optimizer(model, lr=lr)
    scheduler = build_scheduler(optimizer, warmup_steps=2, total_steps=20)
    device = torch.device("cpu")
    return Trainer(
        model,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=MultiTaskLoss(SPEC.tasks),
        device=device,
        precision=select_precision(device, amp),
        channels_last=channels_last,
        grad_clip=1.0,
        hooks=hooks,
    )


def test_warmup_then_cosine():
    factors = [warmup_cosine(s, warmup_steps=4, total_steps=20, min_lr_ratio=0.1) for s in range(21)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0 and all(a >= b for a, b in zip(factors[4:], factors[5:], strict=False))
    assert factors[12] == pytest.approx(0.1 + 0.9 * 0.5)
    assert factors[20] == pytest.approx(0.1)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    scheduler = build_scheduler(optimizer, warmup_steps=4, total_steps=20, min_lr_ratio=0.1)
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx(
        [0.5, 1.0, 1.5, 2.0, 2.0, 2.0 * warmup_cosine(5, warmup_steps=4, total_steps=20, min_lr_ratio=0.1)]
    )
    with pytest.raises(ConfigError, match="warmup"):
        build_scheduler(optimizer, warmup_steps=20, total_steps=20)


def test_linear_lr_scaling_and_parameter_groups():
    assert scale_lr(1e-3, batch_size=64, base_batch_size=16) == pytest.approx(4e-3)
    assert scale_lr(1e-3, batch_size=64, base_batch_size=None) == 1e-3
    model = build_model(SPEC)
    groups = parameter_groups(model, lr=1.0, weight_decay=0.1, encoder_lr_mult=0.5)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    for group in groups:
        in_encoder = {id(p) in encoder_ids for p in group["params"]}
        assert len(in_encoder) == 1
        assert group["lr"] == (0.5 if in_encoder.pop() else 1.0)
        assert group["weight_decay"] == (0.0 if all(p.ndim <= 1 for p in group["params"]) else 0.1)


def test_device_and_precision_choice(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="CUDA"):
        pick_device("cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        pick_device("tpu9")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert select_precision(cpu, "auto").dtype is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert select_precision(cuda, "auto").dtype == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    fp16 = select_precision(cuda, "auto")
    assert fp16.dtype == torch.float16 and fp16.use_scaler
    assert not select_precision(cpu, "bf16").use_scaler
    assert use_channels_last(cuda) and not use_channels_last(cpu) and use_channels_last(cpu, True)


def test_trainer_learns_a_fixed_batch_and_calls_hooks():
    events = []

    class Recorder:
        def on_step(self, trainer, step, logs):
            events.append(("step", step, logs["loss"]))

        def on_validation(self, trainer, step, metrics):
            events.append(("val", step, metrics["buildings/iou"]))

        def on_end(self, trainer, step):
            events.append(("end", step, None))

    trainer = _trainer(hooks=[Recorder()])
    batch = _batch()
    trainer.fit([batch] * 20, steps=20, val_loader=[batch], val_every=10)
    losses = [e[2] for e in events if e[0] == "step"]
    assert len(losses) == 20 and losses[-1] < 0.5 * losses[0]
    vals = [e for e in events if e[0] == "val"]
    assert [v[1] for v in vals] == [10, 20] and vals[-1][2] > 0.5
    assert events[-1] == ("end", 20, None) and trainer.step == 20


def test_bf16_autocast_and_channels_last_on_cpu():
    trainer = _trainer(channels_last=True, amp="bf16")
    logs = trainer.train_step(_batch())
    assert math.isfinite(logs["loss"]) and logs["lr"] > 0
    assert next(trainer.model.parameters()).dtype == torch.float32


def test_non_finite_loss_stops_training():
    trainer = _trainer(lr=1e30)
    batch = _batch()
    batch["image"] = batch["image"] * float("nan")
    with pytest.raises(FloatingPointError, match="loss is nan"):
        trainer.fit([batch] * 3, steps=3)


def test_checkpoint_round_trip_resumes_state(tmp_path):
    trainer = _trainer()
    batch = _batch()
    for _ in range(3):
        trainer.train_step(batch)
    save_checkpoint(tmp_path / "step_0000003.pt", trainer.state_dict())
    state = load_checkpoint(tmp_path / "step_0000003.pt")
    other = _trainer()
    other.load_state_dict(state)
    assert other.step == 3
    assert other.scheduler.last_epoch == trainer.scheduler.last_epoch
    after_a, after_b = trainer.train_step(batch), other.train_step(batch)
    assert after_a["loss"] == pytest.approx(after_b["loss"], rel=1e-5)


class Payload:
    """An arbitrary object: loading it would need unpickling code."""


def test_checkpoints_never_unpickle_objects(tmp_path):
    torch.save({"model": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CorruptFileError):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(MissingFileError):
        load_checkpoint(tmp_path / "none.pt")


def test_prune_keeps_the_newest(tmp_path):
    for step in (5, 20, 100, 7):
        save_checkpoint(tmp_path / f"step_{step:07d}.pt", {"step": step})
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in step_checkpoints(tmp_path)] == ["step_0000020.pt", "step_0000100.pt"]
