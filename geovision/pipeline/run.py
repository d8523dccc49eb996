"""The end-to-end job: inputs -> segmentation -> vectors -> DII grids (+ population, evaluation) -> run.json.

Each stage writes into its own sub-folder of the output folder and records itself
in ``run.json`` (inputs with hashes, versions, options, timings, figures). A rerun
resumes: a stage whose record says done, with the same options and input hashes and
with all its outputs present, is skipped. Paths in run.json are relative to the run
folder (:mod:`geovision.runrecord`); in memory they are absolute.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from geovision import __version__
from geovision.errors import OutputExistsError, writing_to
from geovision.io.atomic import TEMP_NAME, remove_stale_temps, temp_path_for
from geovision.io.hashing import file_sha256
from geovision.pipeline.events import EventInputs
from geovision.runrecord import relative_record, resolve_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Options of a run (recorded in run.json; a change re-runs the stages it affects)."""

    model: str = "default"
    runtime: str = "auto"
    device: str = "auto"
    chip_px: int = 512
    overlap_px: int = 64
    batch_windows: int = 0  # 0 = auto (SegmentOptions.resolved)
    scheduler: str | None = None
    cell_px: int = 256
    tau: float = 0.5
    theta_buildings: float = 0.1
    theta_roads: float = 0.1
    tolerance_px: int = 2
    min_building_m2: float = 10.0
    adapt_minutes: float = 10.0  # time budget of the adapt stage (only with --adapt-with)


@dataclass
class StageRecord:
    name: str
    status: str = "pending"  # done | skipped | failed
    reason: str = ""
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    key: str = ""


class Run:
    """One run folder: its record, and the stages executed into it."""

    def __init__(self, inputs: EventInputs, out_dir: Path, options: RunOptions, *, overwrite: bool = False):
        self.inputs, self.out, self.options = inputs, Path(os.path.abspath(out_dir)), options
        self.record_path = self.out / "run.json"
        self.hashes = {
            name: file_sha256(path)
            for name, path in (
                ("pre", inputs.pre),
                ("post", inputs.post),
                ("census", inputs.census),
                ("aoi", inputs.aoi),
            )
            if path is not None and Path(path).exists()
        }
        previous = read_previous_record(self.record_path) if self.record_path.exists() and not overwrite else None
        if previous is None and not overwrite and _foreign_entries(self.out):
            raise OutputExistsError(
                "output folder is not empty and holds no geovision run",
                path=self.out,
                fix="choose an empty folder, or pass --overwrite",
            )
        if previous:
            refuse_other_run(previous, inputs, self.hashes, self.out)
        self.previous_stages = previous.get("stages", {}) if previous else {}
        self._previous_finished = bool(previous) and is_finished(previous)
        self.overwrite = overwrite
        self.stages: dict[str, StageRecord] = {}
        self.valid_shares: dict[str, float] = {}  # share of each image holding data (checks.check_images)

    def stage(self, name: str, depends: dict[str, Any], body: Callable[[StageRecord], None]) -> StageRecord:
        """Run ``body`` unless a previous identical run of this stage is complete."""
        key = hashlib.sha256(json.dumps(depends, sort_keys=True, default=str).encode()).hexdigest()[:16]
        old = self.previous_stages.get(name)
        if (
            old
            and old.get("status") == "done"
            and old.get("key") == key
            and all(Path(p).exists() for p in old.get("outputs", {}).values())
        ):
            record = StageRecord(**{**old, "reason": "resumed: unchanged since the previous run"})
            self.stages[name] = record
            log.info("stage %s: resumed", name)
            return record
        record = StageRecord(name=name, key=key)
        started = time.perf_counter()
        try:
            body(record)
            if record.status == "pending":
                record.status = "done"
        except Exception as error:
            record.status, record.reason = "failed", f"{type(error).__name__}: {error}"
            raise
        finally:
            record.seconds = round(time.perf_counter() - started, 2)
            if record.status == "pending":
                record.status = "failed"
            self.stages[name] = record
            self.save()
        return record

    def save(self) -> None:
        """Write run.json atomically."""
        self.out.mkdir(parents=True, exist_ok=True)
        document = relative_record(
            {
                "geovision": __version__,
                "python": platform.python_version(),
                "created_by": "geovision run",
                "inputs": {**self.inputs.to_json(), "sha256": self.hashes},
                "options": asdict(self.options),
                "stages": {name: asdict(record) for name, record in self.stages.items()},
                "figures": {name: record.figures for name, record in self.stages.items() if record.figures},
                "versions": _versions(),
            },
            self.out,
        )
        if self._previous_finished:  # a rerun: keep the finished run's record until this one finishes
            os.replace(self.record_path, self.out / PREVIOUS_RECORD)
            self._previous_finished = False
        tmp = temp_path_for(self.record_path)
        try:
            with writing_to(self.record_path):
                tmp.write_text(json.dumps(document, indent=1, default=str))
                tmp.replace(self.record_path)
        finally:
            tmp.unlink(missing_ok=True)
        if is_finished(document):
            (self.out / PREVIOUS_RECORD).unlink(missing_ok=True)


def _foreign_entries(out: Path) -> list[Path]:
    """What is in ``out`` besides this run's lock and temporary files."""
    return [p for p in out.iterdir() if p.name != LOCK_NAME and not TEMP_NAME.match(p.name)] if out.exists() else []


PREVIOUS_RECORD = "run.previous.json"  # the last finished run's record, while a rerun is under way or failed


def is_finished(record: dict[str, Any]) -> bool:
    """True when every stage of ``record`` is done or skipped (nothing failed or pending)."""
    from geovision.pipeline.stages import STAGES

    stages = record.get("stages", {})
    return all(stages.get(name, {}).get("status") in ("done", "skipped") for name, _ in STAGES)


def read_previous_record(path: Path) -> dict[str, Any]:
    """The run.json in an output folder, paths resolved; a corrupt one is a clear error, not a traceback."""
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        raise OutputExistsError(
            f"holds a run.json that does not read ({error})",
            path=path,
            fix="pass --overwrite to start a new run there, or choose another --out folder",
        ) from error
    return resolve_record(record, path.parent)


def refuse_other_run(previous: dict[str, Any], inputs: EventInputs, hashes: dict[str, str], out: Path) -> None:
    """Raise unless ``out`` holds a run of the same event and, once finished, of the same images.

    The images are what a run is of; a changed AOI, census or option recomputes what it affects.
    An unfinished (killed) run may be resumed with replaced images: the changed stages start again.
    """
    old = previous.get("inputs", {})
    fix = "choose another --out folder, or pass --overwrite to replace that run"
    if old.get("name") != inputs.name:
        raise OutputExistsError(f"holds a run of `{old.get('name')}`", path=out, fix=fix)
    changed = [f"{date} image" for date in ("pre", "post") if hashes.get(date) != old.get("sha256", {}).get(date)]
    if changed and is_finished(previous):
        raise OutputExistsError(
            f"holds a finished run of other images (the {' and '.join(changed)} changed)", path=out, fix=fix
        )


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for package in ("torch", "segmentation-models-pytorch", "timm", "rasterio", "geopandas", "xarray", "dask"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = "missing"
    return out


def run_pipeline(
    inputs: EventInputs,
    out_dir: str | Path,
    options: RunOptions = RunOptions(),
    *,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
) -> Run:
    """Run every stage for ``inputs`` into ``out_dir`` (see module docstring)."""
    from geovision.pipeline import stages
    from geovision.pipeline.checks import check_run

    shares = check_run(inputs, options)  # before anything is written
    with output_lock(Path(out_dir)):
        run = Run(inputs, Path(out_dir), options, overwrite=overwrite)
        run.valid_shares = {date: round(share, 4) for date, share in shares.items()}
        for name, function in stages.STAGES:
            echo(f"stage {name} started")
            record = function(run)
            note = f" ({record.reason})" if record.reason else ""
            echo(f"stage {name:10s} {record.status:8s} {record.seconds:7.1f} s{note}")
        run.save()
    return run


LOCK_NAME = ".geovision.lock"


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
