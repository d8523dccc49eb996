"""Spread inference batches over Dask workers.

``scheduler`` is ``local`` (a LocalCluster of worker processes on this machine)
or the address of a running scheduler (``tcp://host:8786``). Each task predicts a
contiguous run of batches with :func:`~geovision.inference.batches.predict_batches`;
the model is built once per worker process (cached), and the results land in the
shared work folder, so workers must see the same filesystem as the client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from geovision.errors import ConfigError

log = logging.getLogger(__name__)


def _chunks(items: Sequence[int], n_chunks: int) -> list[list[int]]:
    n_chunks = max(1, min(n_chunks, len(items)))
    size, extra = divmod(len(items), n_chunks)
    out, start = [], 0
    for k in range(n_chunks):
        stop = start + size + (1 if k < extra else 0)
        out.append(list(items[start:stop]))
        start = stop
    return [chunk for chunk in out if chunk]


def _set_worker_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def connect(scheduler: str, *, n_workers: int | None = None):
    """A ``distributed.Client`` for ``scheduler`` (``local`` starts a LocalCluster of processes)."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n_workers = n_workers or max(1, min(4, os.cpu_count() or 1))
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        threads = max(1, (os.cpu_count() or 1) // n_workers)
        client.run(_set_worker_threads, threads)
        return client
    if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise ConfigError(f"unknown scheduler `{scheduler}`", fix="use --scheduler local or tcp://host:port")
    return Client(scheduler)


def predict_on_dask(
    source_spec,
    model_ref,
    options,
    work_dir: str,
    batch_ids: Sequence[int],
    *,
    scheduler: str,
    n_workers: int | None = None,
    tasks_per_worker: int = 2,
) -> int:
    """Predict ``batch_ids`` on Dask workers; returns the number of batches predicted."""
    from geovision.inference.batches import predict_batches

    if not batch_ids:
        return 0
    client = connect(scheduler, n_workers=n_workers)
    try:
        workers = max(1, len(client.scheduler_info()["workers"]))
        chunks = _chunks(list(batch_ids), workers * tasks_per_worker)
        futures = [
            client.submit(predict_batches, source_spec, model_ref, options, work_dir, chunk, False, pure=False)
            for chunk in chunks
        ]
        done = sum(client.gather(futures))
    finally:
        if scheduler == "local":
            cluster = client.cluster
            client.close()
            cluster.close()
        else:
            client.close()
    log.info("dask predicted %d batches on %d workers", done, workers)
    return done
