"""A declared stage of ``geovision run``, and the run folder its stages share.

A :class:`Stage` declares what its result depends on: the content of its input files (and the
model by ``weights_sha256``), the dotted :class:`~geovision.runconfig.RunConfig` fields it reads
(``"grid.cell_px"``) and the upstream stages whose outputs it reads. Its cache key is computed from
exactly those (and :data:`KEY_FORMAT`), so a rerun recomputes a
stage only when one of them changed. Stages read upstream outputs by name from the typed record
(``run.record.output("segment", "valid")``), never by rebuilding file names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geovision import __version__
from geovision.errors import CorruptFileError, OutputExistsError
from geovision.io.atomic import TEMP_NAME
from geovision.io.hashing import file_sha256
from geovision.pipeline.events import EventInputs
from geovision.runconfig import RunConfig
from geovision.runrecord import RECORD_NAME, RunRecord, StageRecord

log = logging.getLogger(__name__)

PREVIOUS_RECORD = "run.previous.json"  # the last finished run's record, while a rerun is under way or failed
LOCK_NAME = ".geovision.lock"
#: part of every key: bumped when what keys are made of changes (2: dotted RunConfig fields), so a
#: folder of an earlier version reruns its stages instead of resuming them
KEY_FORMAT = 2


def no_inputs(run: Run) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Stage:
    """One stage: its body and what its cache key is made of (see the module docstring)."""

    name: str
    body: Callable[[Run, StageRecord], None]
    inputs: Callable[[Run], dict[str, Any]] = no_inputs  # content keys of input files, models, input fields
    config: tuple[str, ...] = ()  # the dotted RunConfig fields the stage reads, e.g. "grid.cell_px"
    upstream: tuple[str, ...] = ()  # the stages whose outputs it reads
    doc: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.config) - set(RunConfig.fields()))
        if unknown:
            raise ValueError(f"stage {self.name} declares {', '.join(unknown)}, not fields of RunConfig")

    def depends(self, run: Run) -> dict[str, Any]:
        """Everything the stage's result depends on (the material of its key)."""
        return {
            "format": KEY_FORMAT,
            "inputs": self.inputs(run),
            "config": {name: run.config.value(name) for name in self.config},
            "upstream": {name: run.record.stage(name).key for name in self.upstream},
        }

    def key(self, run: Run) -> str:
        text = json.dumps(self.depends(run), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __call__(self, run: Run) -> StageRecord:
        """Run the stage into ``run`` (or resume it: see :meth:`Run.execute`)."""
        return run.execute(self)


class Run:
    """One run folder: its typed record, and the stages executed into it."""

    def __init__(self, inputs: EventInputs, out_dir: Path, config: RunConfig, *, overwrite: bool = False):
        self.inputs, self.out, self.config = inputs, Path(os.path.abspath(out_dir)), config
        files = {"pre": inputs.pre, "post": inputs.post, "census": inputs.census, "aoi": inputs.aoi}
        self.hashes = {name: file_sha256(path) for name, path in files.items() if path and Path(path).exists()}
        record_path = self.out / RECORD_NAME
        previous = read_previous_record(self.out) if record_path.exists() and not overwrite else None
        if previous is None and not overwrite and _foreign_entries(self.out):
            raise OutputExistsError(
                "output folder is not empty and holds no geovision run",
                path=self.out,
                fix="choose an empty folder, or pass --overwrite",
            )
        if previous is not None:
            refuse_other_run(previous, inputs, self.hashes, self.out)
        self.previous = previous or RunRecord()
        self._previous_finished = previous is not None and previous.finished()
        self.record = RunRecord(
            geovision=__version__,
            python=platform.python_version(),
            inputs={**inputs.to_json(), "sha256": self.hashes},
            config=config,
            versions=_versions(),
        )
        self.valid_shares: dict[str, float] = {}  # share of each image holding data (checks.check_images)

    @property
    def stages(self) -> dict[str, StageRecord]:
        """The stages run (or resumed) so far, by name."""
        return self.record.stages

    @stages.setter
    def stages(self, value: dict[str, StageRecord]) -> None:
        self.record.stages = dict(value)

    def execute(self, stage: Stage) -> StageRecord:
        """Run ``stage`` unless the previous run holds it done, with the same key and all its outputs."""
        key = stage.key(self)
        old = self.previous.stages.get(stage.name)
        if old and old.done and old.key == key and all(Path(p).exists() for p in old.outputs.values()):
            record = old.model_copy(update={"reason": "resumed: unchanged since the previous run"})
            self.stages[stage.name] = record
            log.info("stage %s: resumed", stage.name)
            return record
        record = StageRecord(name=stage.name, key=key)
        started = time.perf_counter()
        try:
            stage.body(self, record)
            if record.status == "pending":
                record.status = "done"
        except Exception as error:
            record.status, record.reason = "failed", f"{type(error).__name__}: {error}"
            raise
        finally:
            record.seconds = round(time.perf_counter() - started, 2)
            if record.status == "pending":
                record.status = "failed"
            self.stages[stage.name] = record
            self.save()
        return record

    def save(self, *, complete: bool = False) -> None:
        """Write run.json atomically (``complete``: every stage has run, the run is finished)."""
        self.record.complete = complete
        self.out.mkdir(parents=True, exist_ok=True)
        if self._previous_finished:  # a rerun: keep the finished run's record until this one finishes
            os.replace(self.out / RECORD_NAME, self.out / PREVIOUS_RECORD)
            self._previous_finished = False
        self.record.write(self.out)
        if complete:
            (self.out / PREVIOUS_RECORD).unlink(missing_ok=True)


def _foreign_entries(out: Path) -> list[Path]:
    """What is in ``out`` besides this run's lock and temporary files."""
    if not out.exists():
        return []
    return [p for p in out.iterdir() if p.name != LOCK_NAME and not TEMP_NAME.match(p.name)]


def read_previous_record(out: Path) -> RunRecord:
    """The run record in an output folder; a corrupt one is a clear error that says how to start again."""
    try:
        return RunRecord.load(out)
    except CorruptFileError as error:
        raise OutputExistsError(
            f"holds a run.json that does not read ({error.message})",
            path=out / RECORD_NAME,
            fix="pass --overwrite to start a new run there, or choose another --out folder",
        ) from error


def refuse_other_run(previous: RunRecord, inputs: EventInputs, hashes: dict[str, str], out: Path) -> None:
    """Raise unless ``out`` holds a run of the same event and, once finished, of the same images.

    The images are what a run is of; a changed AOI, census or setting recomputes what it affects.
    An unfinished (killed) run may be resumed with replaced images: the changed stages start again.
    """
    old = previous.inputs
    fix = "choose another --out folder, or pass --overwrite to replace that run"
    if old.get("name") != inputs.name:
        raise OutputExistsError(f"holds a run of `{old.get('name')}`", path=out, fix=fix)
    changed = [f"{date} image" for date in ("pre", "post") if hashes.get(date) != old.get("sha256", {}).get(date)]
    if changed and previous.finished():
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
