"""Training checkpoints: plain tensors and numbers written atomically, read with ``weights_only=True``."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from geovision.errors import CorruptFileError, MissingFileError
from geovision.io.atomic import atomic_output

LAST = "last.pt"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts only) atomically to ``path``."""
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint on the CPU without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            "checkpoint does not exist",
            path=path,
            fix="start without --resume, or point --output-dir at the earlier run",
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as error:
        raise CorruptFileError(
            f"cannot read checkpoint: {str(error)[:200]}",
            path=path,
            fix="delete it and resume from an older step_*.pt, or start again",
        ) from error


def step_checkpoints(folder: str | os.PathLike[str]) -> list[Path]:
    """``step_<n>.pt`` files in ``folder``, oldest step first."""
    folder = Path(folder)
    found = [(int(m[1]), p) for p in folder.glob("step_*.pt") if (m := _STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def prune_checkpoints(folder: str | os.PathLike[str], *, keep: int) -> None:
    """Delete all but the ``keep`` newest ``step_<n>.pt`` files."""
    for path in step_checkpoints(folder)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
