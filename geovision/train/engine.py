"""The supervised training engine: one ``train_step``, ``evaluate``, a step-based ``fit`` loop and hooks.

The engine knows nothing of configs, files or distribution: it takes a model (possibly
DDP-wrapped), optimiser, scheduler and loss, and calls hooks (``on_step``,
``on_validation``, ``on_end``) that do logging and checkpointing. A step may accumulate
gradients over several micro-batches (DDP synchronises only on the last); validation runs
on the unwrapped model and, given an ``all_reduce`` (sum) function, adds up every rank's counts.
``forward_fn(model, batch) -> {name: tensor}`` lets other objectives (e.g. contrastive
pretraining on two views) reuse the engine; the default is ``model(batch["image"])``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from geovision.progress import progress
from geovision.train.device import Precision
from geovision.train.metrics import PixelMetrics

log = logging.getLogger(__name__)


class Hook(Protocol):
    """Optional callbacks; a hook implements any subset of these methods."""

    def on_step(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None: ...

    def on_validation(self, trainer: Trainer, step: int, metrics: dict[str, float]) -> None: ...

    def on_end(self, trainer: Trainer, step: int) -> None: ...


ForwardFn = Callable[[nn.Module, Mapping[str, Any]], dict[str, Tensor]]
Batch = Mapping[str, Any]


def image_forward(model: nn.Module, batch: Batch) -> dict[str, Tensor]:
    """The default forward pass: ``model(batch["image"])``."""
    return model(batch["image"])


def freeze_batchnorm(model: nn.Module) -> None:
    """Put every BatchNorm layer in eval mode (normalise with running statistics, do not update them)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def unwrap(model: nn.Module) -> nn.Module:
    """The underlying model of a DDP / compiled wrapper."""
    while hasattr(model, "module"):
        model = model.module
    while hasattr(model, "_orig_mod"):
        model = model._orig_mod
    return model


def to_device(batch: Mapping[str, Any], device: torch.device, *, channels_last: bool = False) -> dict[str, Any]:
    """Move every tensor of a (nested) batch to ``device``; the image optionally channels_last."""
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, Tensor):
            value = value.to(device, non_blocking=True)
            if key.startswith("image") and channels_last and value.ndim == 4:
                value = value.contiguous(memory_format=torch.channels_last)
        elif isinstance(value, Mapping):
            value = to_device(value, device)
        out[key] = value
    return out


class Trainer:
    """Runs optimisation steps and validation for a multi-task model."""

    def __init__(
        self,
        model: nn.Module,
        *,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None,
        loss_fn: nn.Module,
        device: torch.device,
        precision: Precision,
        channels_last: bool = False,
        grad_clip: float | None = None,
        hooks: Sequence[Hook] = (),
        thresholds: Mapping[str, float] | None = None,
        accumulate: int = 1,
        freeze_bn: bool = False,
        forward_fn: ForwardFn = image_forward,
        all_reduce: Callable[[Tensor], Tensor] | None = None,
        deadline: float | None = None,
    ):
        self.device = device
        self.channels_last = channels_last
        memory = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(device, memory_format=memory)
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.loss_fn = loss_fn
        self.precision = precision
        self.scaler = precision.scaler()
        self.grad_clip = grad_clip
        self.hooks = list(hooks)
        self.thresholds = dict(thresholds or {})
        self.accumulate = max(1, int(accumulate))
        self.freeze_bn = freeze_bn
        self.forward_fn = forward_fn
        self.all_reduce = all_reduce
        self.deadline = deadline  # time.monotonic() after which fit() stops (trainer.max_minutes)
        self.step = 0

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(unwrap(self.model).tasks)

    def past_deadline(self) -> bool:
        """True once the deadline has passed, on any rank (so that every rank stops at the same step)."""
        if self.deadline is None:
            return False
        late = torch.tensor([float(time.monotonic() > self.deadline)], device=self.device)
        return bool((self.all_reduce(late) if self.all_reduce is not None else late).item() > 0)

    def _call(self, event: str, *args: Any) -> None:
        for hook in self.hooks:
            method = getattr(hook, event, None)
            if method is not None:
                method(self, *args)

    def train_step(self, batch: Batch | Sequence[Batch]) -> dict[str, float]:
        """One optimisation step on one batch, or on a list of micro-batches whose gradients are
        averaged (DDP all-reduces only after the last); returns the mean loss parts and the LR."""
        micro = list(batch) if isinstance(batch, (list, tuple)) else [batch]
        self.model.train()
        if self.freeze_bn:
            freeze_batchnorm(self.model)
        self.optimizer.zero_grad(set_to_none=True)
        logs: dict[str, float] = {}
        for index, part in enumerate(micro):
            part = to_device(part, self.device, channels_last=self.channels_last)
            last = index == len(micro) - 1
            no_sync = getattr(self.model, "no_sync", None)
            with contextlib.nullcontext() if last or no_sync is None else no_sync():
                with self.precision.autocast():
                    outputs = self.forward_fn(self.model, part)
                loss, parts = self.loss_fn({k: v.float() for k, v in outputs.items()}, part)
                self.scaler.scale(loss / len(micro)).backward()
            for key, value in parts.items():
                logs[key] = logs.get(key, 0.0) + value / len(micro)
        if self.grad_clip:
            self.scaler.unscale_(self.optimizer)
            logs["grad_norm"] = float(nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        logs["lr"] = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        return logs

    @torch.no_grad()
    def evaluate(self, loader: Iterable[Mapping[str, Any]]) -> dict[str, float]:
        """Mean loss and per-task pixel metrics over ``loader`` (model in eval mode)."""
        model = unwrap(self.model)  # a DDP forward would wait for ranks holding fewer batches
        model.eval()
        metrics = PixelMetrics(self.tasks, self.thresholds)
        total, batches = 0.0, 0
        for batch in loader:
            batch = to_device(batch, self.device, channels_last=self.channels_last)
            with self.precision.autocast():
                logits = self.forward_fn(model, batch)
            logits = {k: v.float() for k, v in logits.items()}
            loss, _ = self.loss_fn(logits, batch)
            total += float(loss)
            batches += 1
            metrics.update(logits, batch)
        if self.all_reduce is not None:
            total, batches = self._reduce_metrics(metrics, total, batches)
        out = metrics.compute()
        if batches:
            out["val_loss"] = total / batches
        return out

    def _reduce_metrics(self, metrics: PixelMetrics, total: float, batches: int) -> tuple[float, int]:
        """Sum confusion counts, labelled samples and losses over ranks (each rank saw its own shard)."""
        values = [total, batches]
        for task in metrics.tasks:
            c = metrics.counts[task]
            values += [c.tp, c.fp, c.fn, c.tn, metrics.labelled[task]]
        summed = self.all_reduce(torch.tensor(values, dtype=torch.float64, device=self.device)).tolist()
        for index, task in enumerate(metrics.tasks):
            tp, fp, fn, tn, labelled = (int(round(v)) for v in summed[2 + 5 * index : 7 + 5 * index])
            counts = metrics.counts[task]
            counts.tp, counts.fp, counts.fn, counts.tn = tp, fp, fn, tn
            metrics.labelled[task] = labelled
        return summed[0], int(round(summed[1]))

    def fit(
        self,
        batches: Iterable[Mapping[str, Any]],
        *,
        steps: int,
        val_loader: Iterable[Mapping[str, Any]] | None = None,
        val_every: int = 0,
    ) -> dict[str, float]:
        """Train until ``self.step == steps`` (resumes from the current ``step``); returns the last metrics."""
        last: dict[str, float] = {}
        iterator = iter(batches)
        bar = None if sys.stdout.isatty() else False  # off a terminal the trainer's own log line says steps/s and ETA
        for _ in progress(
            range(self.step, steps), total=max(0, steps - self.step), description="training", enabled=bar
        ):
            try:
                batch = [next(iterator) for _ in range(self.accumulate)] if self.accumulate > 1 else next(iterator)
            except StopIteration:
                log.warning("data ran out at step %d of %d", self.step, steps)
                break
            logs = self.train_step(batch)
            if not torch.isfinite(torch.tensor(logs["loss"])):
                raise FloatingPointError(f"loss is {logs['loss']} at step {self.step}; lower optim.lr or use amp: off")
            self._call("on_step", self.step, logs)
            if val_loader is not None and val_every and (self.step % val_every == 0 or self.step == steps):
                last = self.evaluate(val_loader)
                self._call("on_validation", self.step, last)
            if self.step < steps and self.past_deadline():
                log.warning("time limit reached: training stops at step %d of %d", self.step, steps)
                if val_loader is not None and val_every and self.step % val_every:  # the last step is scored
                    last = self.evaluate(val_loader)
                    self._call("on_validation", self.step, last)
                break
        self._call("on_end", self.step)
        return last

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (tensors and plain values only)."""
        state = {
            "step": self.step,
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
