"""Self-supervised contrastive pretraining of a segmentation encoder on unlabelled tiles.

Two methods share one interface, ``forward(view_a, view_b) -> {"logits", "target"}`` scored by
cross-entropy (InfoNCE):

- **MoCo v2** (He et al. 2020; Chen et al. 2020): the query encoder learns; a momentum (EMA)
  copy encodes keys; negatives come from a queue of past keys from every rank, so small
  per-device batches work (CPU, one GPU).
- **SimCLR** (Chen et al. 2020): in-batch negatives gathered from all ranks with gradients;
  wants large global batches (large-minibatch synchronous SGD with LR scaling and warm-up).

The encoder is the same smp/timm encoder a :class:`~geovision.models.multitask.MultiTaskSegmenter`
uses; its weights are exported as ``encoder.safetensors`` for ``init_from`` in training.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from geovision.data.samples import ChipReader
from geovision.models.encoders import build_encoder
from geovision.pretrain.config import SSLConfig
from geovision.pretrain.data import TwoViewWindows, unlabelled_scenes
from geovision.pretrain.views import ViewAugment
from geovision.train.distributed import (
    DistContext,
    distributed_session,
    epochs,
    global_batch_size,
    train_loader,
    wrap_ddp,
)
from geovision.train.engine import unwrap
from geovision.train.run import build_engine, run_hooks, save_encoder, start_run

log = logging.getLogger(__name__)
ENCODER_FILE = "encoder.safetensors"


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def gather_all(tensor: Tensor) -> Tensor:
    """Concatenation over ranks (no gradient); the tensor itself in a single process."""
    rank, world = _world()
    if world == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def gather_with_grad(tensor: Tensor) -> Tensor:
    """Concatenation over ranks that passes gradients back to every rank's tensor."""
    rank, world = _world()
    if world == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()))


class Embedder(nn.Module):
    """Encoder, global average pool of the deepest features, MLP projection, L2 normalisation."""

    def __init__(self, encoder: nn.Module, *, hidden_dim: int, dim: int):
        super().__init__()
        self.encoder = encoder
        self.projector = nn.Sequential(
            nn.Linear(encoder.out_channels[-1], hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        features = self.encoder(x)[-1]
        return F.normalize(self.projector(features.mean(dim=(-2, -1))), dim=1)


class MoCo(nn.Module):
    """MoCo v2: queries from :attr:`online`, keys from its EMA copy, a queue of ``queue`` negatives."""

    def __init__(
        self,
        encoder: nn.Module,
        *,
        dim: int = 128,
        hidden_dim: int = 512,
        queue: int = 4096,
        momentum: float = 0.99,
        temperature: float = 0.2,
    ):
        super().__init__()
        self.online = Embedder(encoder, hidden_dim=hidden_dim, dim=dim)
        self.target = copy.deepcopy(self.online)
        for param in self.target.parameters():
            param.requires_grad_(False)
        self.momentum = momentum
        self.temperature = temperature
        self.register_buffer("queue", F.normalize(torch.randn(queue, dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @property
    def encoder(self) -> nn.Module:
        return self.online.encoder

    @torch.no_grad()
    def _momentum_update(self) -> None:
        for online, target in zip(self.online.parameters(), self.target.parameters(), strict=True):
            target.mul_(self.momentum).add_(online.detach(), alpha=1 - self.momentum)

    @torch.no_grad()
    def _enqueue(self, keys: Tensor) -> None:
        keys = gather_all(keys)
        size = self.queue.shape[0]
        index = (self.queue_ptr + torch.arange(keys.shape[0], device=keys.device)) % size
        self.queue[index[-size:]] = keys[-size:]
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % size)

    def forward(self, view_a: Tensor, view_b: Tensor) -> dict[str, Tensor]:
        query = self.online(view_a)
        with torch.no_grad():
            self._momentum_update()
            key = self.target(view_b)
        positive = (query * key).sum(1, keepdim=True)
        negative = query @ self.queue.clone().detach().t()
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        self._enqueue(key.detach())
        return {"logits": logits, "target": torch.zeros(len(logits), device=logits.device)}


class SimCLR(nn.Module):
    """SimCLR (NT-Xent): each view's positive is the other view; negatives are all other views of the
    global batch (gathered from every rank)."""

    def __init__(self, encoder: nn.Module, *, dim: int = 128, hidden_dim: int = 512, temperature: float = 0.2):
        super().__init__()
        self.online = Embedder(encoder, hidden_dim=hidden_dim, dim=dim)
        self.temperature = temperature

    @property
    def encoder(self) -> nn.Module:
        return self.online.encoder

    def forward(self, view_a: Tensor, view_b: Tensor) -> dict[str, Tensor]:
        rank, _ = _world()
        z_a, z_b = self.online(view_a), self.online(view_b)
        all_a, all_b = gather_with_grad(z_a), gather_with_grad(z_b)
        n, local = all_a.shape[0], z_a.shape[0]
        positives = torch.arange(local, device=z_a.device) + rank * local
        self_mask = F.one_hot(positives, n).bool()
        rows = []
        for anchor, other, same in ((z_a, all_b, all_a), (z_b, all_a, all_b)):
            to_same = (anchor @ same.t()).masked_fill(self_mask, float("-inf"))
            rows.append(torch.cat([anchor @ other.t(), to_same], dim=1))
        logits = torch.cat(rows) / self.temperature
        return {"logits": logits, "target": torch.cat([positives, positives]).float()}


class ContrastiveLoss(nn.Module):
    """InfoNCE: cross-entropy of ``logits`` against the positive's index; logs top-1 accuracy."""

    def forward(self, outputs: dict[str, Tensor], batch: dict) -> tuple[Tensor, dict[str, float]]:
        logits, target = outputs["logits"], outputs["target"].long()
        loss = F.cross_entropy(logits, target)
        accuracy = float((logits.argmax(1) == target).float().mean())
        return loss, {"loss": float(loss.detach()), "accuracy": accuracy}


def two_view_forward(model: nn.Module, batch: dict) -> dict[str, Tensor]:
    return model(batch["image"], batch["image_pair"])


def build_ssl_model(config: SSLConfig) -> MoCo | SimCLR:
    spec, method = config.model, config.method
    encoder = build_encoder(
        spec.encoder, in_channels=spec.in_channels, depth=spec.encoder_depth, weights=spec.encoder_weights
    )
    if method.name == "moco":
        return MoCo(
            encoder,
            dim=method.dim,
            hidden_dim=method.hidden_dim,
            queue=method.queue,
            momentum=method.momentum,
            temperature=method.temperature,
        )
    return SimCLR(encoder, dim=method.dim, hidden_dim=method.hidden_dim, temperature=method.temperature)


def build_ssl_loader(config: SSLConfig, *, start_step: int, device: torch.device, context: DistContext):
    data, trainer = config.data, config.trainer
    reader = ChipReader(
        tasks=(), chip_px=data.chip_px, gsd_m=data.gsd_m, mean=data.normalization.mean, std=data.normalization.std
    )
    v = config.views
    views = ViewAugment(
        crop_scale=v.crop_scale,
        flips=v.flips,
        rot90=v.rot90,
        brightness=v.brightness,
        contrast=v.contrast,
        saturation=v.saturation,
        blur_prob=v.blur_prob,
        blur_sigma=v.blur_sigma,
        noise_std=v.noise_std,
    )
    step_samples = global_batch_size(trainer.batch_size, accumulate=trainer.accumulate, world_size=context.world_size)
    stream = TwoViewWindows(
        unlabelled_scenes(data.sources, config.resolve),
        reader,
        length=trainer.steps * step_samples,
        views=views,
        seed=trainer.seed,
        pair_prob=v.pair_prob,
        min_valid=data.min_valid,
    )
    return train_loader(
        stream,
        batch_size=trainer.batch_size,
        context=context,
        start_sample=start_step * step_samples,
        num_workers=data.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=data.workers > 0,
    )


def encoder_meta(config: SSLConfig, *, steps: int) -> dict[str, str]:
    """String metadata stored in ``encoder.safetensors`` (checked by ``init_from``)."""
    spec = config.model
    return {
        "encoder": spec.encoder,
        "in_channels": str(spec.in_channels),
        "encoder_depth": str(spec.encoder_depth),
        "method": config.method.name,
        "steps": str(steps),
        "bands": json.dumps(list(config.data.bands)),
        "normalization": config.data.normalization.model_dump_json(),
        "gsd_m": str(config.data.gsd_m),
        "sources": json.dumps([{"name": s.name or s.image, "licence": s.licence} for s in config.data.sources]),
    }


@dataclass
class SSLResult:
    encoder: Path
    step: int
    loss: float


class _LastLogs:
    def __init__(self) -> None:
        self.logs: dict[str, float] = {}

    def on_step(self, trainer, step: int, logs: dict[str, float]) -> None:
        self.logs = logs


def pretrain_ssl(config: SSLConfig, *, resume: bool = False, overwrite: bool = False) -> SSLResult:
    """Contrastive pretraining (data-parallel under torchrun); writes ``<output_dir>/encoder.safetensors``."""
    with distributed_session(config.trainer.device, config.trainer.dist_backend) as (context, device):
        torch.manual_seed(config.trainer.seed)
        out, state = start_run(config, context, resume=resume, overwrite=overwrite)
        model = build_ssl_model(config)
        hooks, _ = run_hooks(config, out, context)
        last = _LastLogs()
        model = wrap_ddp(model.to(device), context, device, sync_batchnorm=config.trainer.sync_batchnorm)
        trainer = build_engine(
            model,
            optim=config.optim,
            trainer=config.trainer,
            device=device,
            hooks=[*hooks, last],
            loss_fn=ContrastiveLoss(),
            forward_fn=two_view_forward,
            context=context,
        )
        if state is not None:
            trainer.load_state_dict(state)
            log.info("resumed from step %d", trainer.step)
        loader = build_ssl_loader(config, start_step=trainer.step, device=device, context=context)
        trainer.fit(epochs(loader), steps=config.trainer.steps)
        path = out / ENCODER_FILE
        if context.is_main:
            encoder = unwrap(trainer.model).encoder
            save_encoder(path, encoder, meta=encoder_meta(config, steps=trainer.step))
        context.barrier()
        return SSLResult(encoder=path, step=trainer.step, loss=float(last.logs.get("loss", float("nan"))))
