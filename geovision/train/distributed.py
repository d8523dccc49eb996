"""Distributed data-parallel training under ``torchrun``: process group, DDP wrapping, sharded data.

Launch any training command with ``torchrun --nproc-per-node=N -m geovision train CONFIG``:
each process reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` from the environment, joins one
process group (gloo on the CPU, nccl on CUDA) and trains on its shard of every global batch.

Data order is fixed by sample index, so a run gives the same global batches whatever the
number of processes: global step ``s`` is samples ``[s*G, (s+1)*G)`` with
``G = batch_size * accumulate * world_size``; a :class:`DistributedSampler` (no shuffling, no
padding) deals them round-robin to the ranks. Validation samples are split without padding,
so none is counted twice. Only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from geovision.errors import ConfigError
from geovision.inference.runtime import pick_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job (a single process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def connected(self) -> bool:
        """Whether collectives can run (a process group exists); a bare context only describes a layout."""
        return self.distributed and dist.is_available() and dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.connected:
            dist.barrier()

    def all_reduce_sum(self, tensor: Tensor) -> Tensor:
        """Sum of ``tensor`` over all ranks (the tensor itself when not distributed)."""
        if self.connected:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Run the block on rank 0 first (e.g. to generate a shared cache), then on the others."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()


def env_world_size() -> int:
    """``WORLD_SIZE`` set by torchrun (1 when not launched by it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError as error:
        raise ConfigError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer", fix="launch with torchrun --nproc-per-node=N"
        ) from error


def resolve_backend(backend: str, device: torch.device) -> str:
    """``auto``: nccl for CUDA devices, gloo otherwise; nccl on a non-CUDA device is refused."""
    if backend == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise ConfigError("the nccl backend needs CUDA devices", fix="use dist_backend: gloo (or auto) on the CPU")
    if backend not in ("gloo", "nccl"):
        raise ConfigError(f"unknown distributed backend {backend!r}", fix="use auto, gloo or nccl")
    return backend


@contextlib.contextmanager
def distributed_session(
    device_name: str = "auto", backend: str = "auto", timeout_s: float = 1800
) -> Iterator[tuple[DistContext, torch.device]]:
    """Join (or reuse) the torchrun process group; yield the context and this rank's device.

    A single process (no ``WORLD_SIZE`` > 1) gets ``DistContext()`` and no process group. The
    group is destroyed on exit only if this call created it.
    """
    world = env_world_size()
    device = pick_device(device_name)
    if world <= 1:
        yield DistContext(), device
        return
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = resolve_backend(backend, device)
    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend=backend, timeout=dt.timedelta(seconds=timeout_s))
    context = DistContext(rank=rank, world_size=world, local_rank=local_rank, backend=backend)
    log.info("rank %d of %d on %s (%s)", rank, world, device, backend)
    try:
        yield context, device
    finally:
        if created and dist.is_initialized():
            dist.destroy_process_group()


def wrap_ddp(
    model: nn.Module, context: DistContext, device: torch.device, *, sync_batchnorm: bool = False
) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel (unchanged in a single process).

    Ranks start from rank 0's weights (DDP broadcasts them). ``sync_batchnorm`` computes
    BatchNorm statistics over the global batch (CUDA only in PyTorch).
    """
    if not context.distributed:
        return model
    if sync_batchnorm:
        if device.type != "cuda":
            raise ConfigError(
                "sync_batchnorm needs CUDA devices (PyTorch's SyncBatchNorm has no CPU kernel)",
                fix="set trainer.sync_batchnorm: false, or freeze_batchnorm: true",
            )
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def global_batch_size(batch_size: int, *, accumulate: int = 1, world_size: int = 1) -> int:
    """Samples per optimiser step over all ranks."""
    return batch_size * accumulate * world_size


def train_loader(
    dataset: Dataset, *, batch_size: int, context: DistContext, start_sample: int = 0, **loader_kwargs
) -> DataLoader:
    """Loader over samples ``start_sample..`` of a fixed-order stream, this rank's share of each step.

    ``len(dataset) - start_sample`` must be a multiple of the world size (it is when the stream
    holds whole global batches), so the sampler pads nothing.
    """
    stream = Subset(dataset, range(start_sample, len(dataset)))
    if len(stream) % context.world_size:
        raise ConfigError(
            f"{len(stream)} samples cannot be split evenly over {context.world_size} ranks",
            fix="make the stream a whole number of global batches",
        )
    sampler = (
        DistributedSampler(stream, num_replicas=context.world_size, rank=context.rank, shuffle=False)
        if context.distributed
        else None
    )
    return DataLoader(stream, batch_size=batch_size, sampler=sampler, shuffle=False, drop_last=True, **loader_kwargs)


def rank_share(dataset: Dataset, context: DistContext) -> Dataset:
    """Samples ``rank, rank + world, ...``: every sample on exactly one rank (for validation)."""
    return Subset(dataset, range(context.rank, len(dataset), context.world_size)) if context.distributed else dataset


def epochs(loader: DataLoader, *, start_epoch: int = 0) -> Iterable:
    """Batches of ``loader`` pass after pass, calling ``sampler.set_epoch`` before each pass."""
    epoch = start_epoch
    while True:
        set_epoch = getattr(loader.sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            return
        epoch += 1
