"""The run record (``run.json``), typed: what a run was of, its configuration, and each stage's outputs and figures.

:class:`RunRecord` is the one reader and writer of ``run.json`` (the pipeline, the report, the
CLI summary, the notebooks and :func:`geovision.open_run` all go through it). Paths are written
relative to the run folder and resolved against it on read, so a run folder can be moved, zipped
or shared and still be read from any working directory; paths outside it (the inputs, usually)
are stored absolute. In memory every path is absolute. A record of an earlier format (flat
``options`` instead of the sectioned ``config``, :data:`RECORD_FORMAT`) is upgraded on read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geovision.config import validation_problems
from geovision.errors import CorruptFileError, MissingFileError, writing_to
from geovision.io.atomic import temp_path_for
from geovision.runconfig import RunConfig, from_legacy

RECORD_NAME = "run.json"
#: 2: the run's ``config`` in sections (RunConfig); 1 (no ``format`` key): flat ``options``
RECORD_FORMAT = 2
#: keys of ``run.json``'s ``inputs`` that hold file or folder paths (``adapt_labels`` holds a list of them)
PATH_INPUTS = (
    "pre",
    "post",
    "census",
    "truth_buildings",
    "truth_affected_area",
    "truth_roads",
    "truth_masks",
    "aoi",
    "adapt_area",
)


def to_record(path: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> str:
    """``path`` as stored in run.json: POSIX and relative to ``run_dir`` when inside it, else absolute."""
    absolute, root = Path(os.path.abspath(path)), Path(os.path.abspath(run_dir))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return str(absolute)


def from_record(text: str, run_dir: str | os.PathLike[str]) -> Path:
    """A path read from run.json, resolved against ``run_dir`` (absolute paths stay as they are)."""
    path = Path(text)
    return path if path.is_absolute() else Path(os.path.abspath(run_dir)) / path


class StageRecord(BaseModel):
    """One stage of a run: its status, cache key, named outputs (absolute paths) and figures."""

    model_config = ConfigDict(extra="ignore")

    name: str
    status: str = "pending"  # pending | done | skipped | failed
    reason: str = ""
    seconds: float = 0.0
    key: str = ""
    outputs: dict[str, str] = Field(default_factory=dict)
    figures: dict[str, Any] = Field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status == "done"

    def output(self, name: str) -> Path:
        """The path of output ``name`` (a clear error when the stage did not make it)."""
        if name not in self.outputs:
            raise MissingFileError(
                f"stage {self.name} has no output {name!r} ({self.status}{': ' + self.reason if self.reason else ''})",
                fix="rerun the run so that the stage completes",
            )
        return Path(self.outputs[name])


class RunRecord(BaseModel):
    """The parsed ``run.json`` of a run folder, paths absolute (:meth:`load`, :meth:`write`)."""

    model_config = ConfigDict(extra="allow")

    format: int = RECORD_FORMAT
    geovision: str = ""
    python: str = ""
    created_by: str = "geovision run"
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: RunConfig = Field(default_factory=RunConfig)
    stages: dict[str, StageRecord] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    complete: bool | None = None  # every stage has run (None: a record from before geovision 0.4)

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, raw: Any) -> Any:
        """A format-1 record (flat ``options``) read as format 2; a newer format is refused."""
        if not isinstance(raw, dict):
            return raw
        version = raw.get("format", RECORD_FORMAT if "config" in raw else 1)
        if not isinstance(version, int) or version > RECORD_FORMAT:
            raise ValueError(f"format {version!r} is newer than this geovision reads ({RECORD_FORMAT})")
        if version == 1:
            config = from_legacy(dict(raw.get("options") or {}))
            raw = {key: value for key, value in raw.items() if key != "options"} | {
                "format": RECORD_FORMAT,
                "config": config,
            }
        return raw

    @property
    def figures(self) -> dict[str, dict[str, Any]]:
        """Each stage's figures, for the stages that have some."""
        return {name: stage.figures for name, stage in self.stages.items() if stage.figures}

    def stage(self, name: str) -> StageRecord:
        """The record of stage ``name`` (a pending one when the run has not reached it)."""
        return self.stages.get(name) or StageRecord(name=name)

    def output(self, stage: str, name: str) -> Path:
        """The path of output ``name`` of ``stage``."""
        return self.stage(stage).output(name)

    def finished(self) -> bool:
        """True when the run went through every stage (each done or skipped; none failed or pending)."""
        if self.complete is not None:
            return self.complete
        statuses = [stage.status for stage in self.stages.values()]
        return "report" in self.stages and all(status in ("done", "skipped") for status in statuses)

    def document(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, paths absolute (what the report and the summary read)."""
        document = self.model_dump(mode="json")
        document["figures"] = self.figures
        return document

    # -- reading and writing run.json -------------------------------------------------------------------

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> RunRecord:
        """Read ``run_dir/run.json``; a missing, corrupt or foreign file is a one-line error naming it."""
        path = Path(run_dir) / RECORD_NAME
        if not path.is_file():
            raise MissingFileError(
                "no run record (run.json) in the folder",
                path=run_dir,
                fix="run `geovision run EVENT --out FOLDER` first",
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            return cls.model_validate(_paths(raw, lambda p: str(from_record(p, path.parent))))
        except (OSError, ValueError, RecursionError) as error:  # ValidationError and JSONDecodeError are ValueErrors
            problem = validation_problems(error) if isinstance(error, ValidationError) else str(error)
            raise CorruptFileError(
                f"run record does not read ({problem or 'nested too deeply'})",
                path=path,
                fix="rerun `geovision run ... --overwrite` into that folder",
            ) from error

    def write(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write ``run_dir/run.json`` atomically, paths relative to ``run_dir`` where inside it."""
        path = Path(run_dir) / RECORD_NAME
        text = json.dumps(_paths(self.document(), lambda p: to_record(p, run_dir)), indent=1, default=str)
        tmp = temp_path_for(path)
        try:
            with writing_to(path):
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def _paths(document: dict[str, Any], convert) -> dict[str, Any]:
    """A copy of a run document with its input and output paths passed through ``convert``."""
    out = dict(document)
    inputs = dict(out.get("inputs") or {})
    for key in PATH_INPUTS:
        if inputs.get(key):
            inputs[key] = convert(inputs[key])
    if inputs.get("adapt_labels"):
        inputs["adapt_labels"] = [convert(p) for p in inputs["adapt_labels"]]
    out["inputs"] = inputs
    stages = {}
    for name, stage in (out.get("stages") or {}).items():
        stage = dict(stage) if isinstance(stage, dict) else stage
        if isinstance(stage, dict):
            stage["outputs"] = {key: convert(p) for key, p in (stage.get("outputs") or {}).items()}
        stages[name] = stage
    out["stages"] = stages
    return out


def read_run_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json`` of ``run_dir`` as a dict, paths absolute (:meth:`RunRecord.load`)."""
    return RunRecord.load(run_dir).document()
