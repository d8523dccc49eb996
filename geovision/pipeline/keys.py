"""What stage keys are made of: content hashes of files, model weights and truth masks."""

from __future__ import annotations

import os
from pathlib import Path

from geovision.errors import GeovisionError

TASKS = ("buildings", "roads")
DATES = ("pre", "post")


def model_key(bundle: Path | None) -> str | None:
    """What identifies a bundle's weights: their SHA-256 (a bundle retrained in place is a new model), else its path."""
    if bundle is None:
        return None
    from geovision.models.bundle import read_meta

    try:
        return read_meta(bundle).weights_sha256 or str(bundle)
    except (GeovisionError, OSError, ValueError):  # an unreadable bundle fails in the stage, with its own error
        return str(bundle)


def file_key(path: str | os.PathLike[str] | None) -> str | None:
    """A file's content hash (None when there is no such file)."""
    from geovision.io.hashing import file_sha256

    return file_sha256(path) if path is not None and Path(path).is_file() else None


def truth_key(folder: Path | None) -> dict[str, str] | None:
    """Content hashes of the ground-truth masks of an event (not their folder's path)."""
    from geovision.io.hashing import file_sha256

    if folder is None or not Path(folder).is_dir():
        return None
    names = (f"{task}_{date}.tif" for task in TASKS for date in DATES)
    return {name: file_sha256(Path(folder) / name) for name in names if (Path(folder) / name).is_file()}
