"""Paths in ``run.json``: written relative to the run folder, resolved against it on read.

A run folder can then be moved, zipped or shared and still be read from any working
directory. Paths outside the run folder (the inputs, usually) are stored absolute.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

#: keys of ``run.json``'s ``inputs`` that hold file or folder paths
PATH_INPUTS = ("pre", "post", "census", "truth_buildings", "truth_affected_area", "truth_roads", "truth_masks", "aoi")


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


def _map(record: dict[str, Any], convert) -> dict[str, Any]:
    out = copy.deepcopy(record)
    inputs = out.get("inputs", {})
    for key in PATH_INPUTS:
        if inputs.get(key):
            inputs[key] = convert(inputs[key])
    for stage in out.get("stages", {}).values():
        stage["outputs"] = {name: convert(path) for name, path in stage.get("outputs", {}).items()}
    return out


def relative_record(record: dict[str, Any], run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A copy of a run record with its input and output paths in run.json's form (:func:`to_record`)."""
    return _map(record, lambda p: to_record(p, run_dir))


def resolve_record(record: dict[str, Any], run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A copy of a parsed run.json with every input and output path absolute (resolved against ``run_dir``)."""
    return _map(record, lambda p: str(from_record(p, run_dir)))
