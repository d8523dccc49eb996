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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from geovision import __version__
from geovision.errors import OutputExistsError
from geovision.io.atomic import temp_path_for
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
        previous = (resolve_record(json.loads(self.record_path.read_text()), self.out)
                    if self.record_path.exists() else None)
        if previous and not overwrite and previous.get("inputs", {}).get("name") != inputs.name:
            raise OutputExistsError(f"holds a run of `{previous['inputs'].get('name')}`", path=self.out,
                                    fix="choose another --out folder, or pass --overwrite")
        self.previous_stages = {} if overwrite or not previous else previous.get("stages", {})
        self.overwrite = overwrite
        self.stages: dict[str, StageRecord] = {}
        self.hashes = {name: file_sha256(path) for name, path in
                       (("pre", inputs.pre), ("post", inputs.post), ("census", inputs.census),
                        ("aoi", inputs.aoi))
                       if path is not None and Path(path).exists()}

    def stage(self, name: str, depends: dict[str, Any], body: Callable[[StageRecord], None]) -> StageRecord:
        """Run ``body`` unless a previous identical run of this stage is complete."""
        key = hashlib.sha256(json.dumps(depends, sort_keys=True, default=str).encode()).hexdigest()[:16]
        old = self.previous_stages.get(name)
        if (old and old.get("status") == "done" and old.get("key") == key
                and all(Path(p).exists() for p in old.get("outputs", {}).values())):
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
        document = relative_record({
            "geovision": __version__, "python": platform.python_version(), "created_by": "geovision run",
            "inputs": {**self.inputs.to_json(), "sha256": self.hashes},
            "options": asdict(self.options),
            "stages": {name: asdict(record) for name, record in self.stages.items()},
            "figures": {name: record.figures for name, record in self.stages.items() if record.figures},
            "versions": _versions(),
        }, self.out)
        tmp = temp_path_for(self.record_path)
        tmp.write_text(json.dumps(document, indent=1, default=str))
        tmp.replace(self.record_path)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for package in ("torch", "segmentation-models-pytorch", "timm", "rasterio", "geopandas", "xarray", "dask"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = "missing"
    return out


def run_pipeline(inputs: EventInputs, out_dir: str | Path, options: RunOptions = RunOptions(), *,
                 overwrite: bool = False, echo: Callable[[str], None] = print) -> Run:
    """Run every stage for ``inputs`` into ``out_dir`` (see module docstring)."""
    from geovision.pipeline import stages

    run = Run(inputs, Path(out_dir), options, overwrite=overwrite)
    for name, function in stages.STAGES:
        echo(f"stage {name} started")
        record = function(run)
        note = f" ({record.reason})" if record.reason else ""
        echo(f"stage {name:10s} {record.status:8s} {record.seconds:7.1f} s{note}")
    run.save()
    return run
