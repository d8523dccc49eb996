"""The end-to-end job: inputs -> segmentation -> vectors -> DII grids (+ population, evaluation) -> report.

:func:`run_pipeline` checks every input first (:mod:`geovision.pipeline.checks`), takes the output
folder's lock, then executes the declared stages of :mod:`geovision.pipeline.stages` in order.
Each stage writes into its own sub-folder and records itself in ``run.json``
(:class:`~geovision.runrecord.RunRecord`). A rerun resumes: a stage whose key (its declared input
contents, RunConfig fields and upstream keys) is unchanged and whose outputs are present is not run again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from geovision.errors import OutputExistsError, writing_to
from geovision.io.atomic import remove_stale_temps
from geovision.io.cache import gdal_cache
from geovision.pipeline import stages
from geovision.pipeline.checks import check_run
from geovision.pipeline.events import EventInputs
from geovision.pipeline.stage import LOCK_NAME, PREVIOUS_RECORD, Run
from geovision.runconfig import RunConfig
from geovision.runrecord import StageRecord

__all__ = ["PREVIOUS_RECORD", "Run", "RunConfig", "StageRecord", "output_lock", "run_pipeline"]

log = logging.getLogger(__name__)


@gdal_cache()
def run_pipeline(
    inputs: EventInputs,
    out_dir: str | Path,
    config: RunConfig | None = None,
    *,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
) -> Run:
    """Run every stage for ``inputs`` into ``out_dir`` (see module docstring), GDAL's cache capped."""
    config = config or RunConfig()
    shares = check_run(inputs, config)  # before anything is written
    with output_lock(Path(out_dir)):
        run = Run(inputs, Path(out_dir), config, overwrite=overwrite)
        run.valid_shares = {date: round(share, 4) for date, share in shares.items()}
        for stage in stages.STAGES:
            echo(f"stage {stage.name} started")
            record = stage(run)
            note = f" ({record.reason})" if record.reason else ""
            echo(f"stage {stage.name:10s} {record.status:8s} {record.seconds:7.1f} s{note}")
        run.save(complete=True)
    return run


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder for one run at a time (a second run into it stops with a clear error)."""
    from filelock import FileLock, Timeout

    lock = FileLock(out / LOCK_NAME, timeout=0)
    try:
        with writing_to(out / LOCK_NAME):
            out.mkdir(parents=True, exist_ok=True)
            lock.acquire()
    except Timeout as error:
        raise OutputExistsError(
            "another geovision run is writing into this folder",
            path=out,
            fix="wait for it to finish, or choose another --out folder",
        ) from error
    try:
        removed = remove_stale_temps(out)
        if removed:
            log.info("removed %d temporary file(s) an interrupted run left in %s", removed, out)
        yield
    finally:
        lock.release()
