"""Input path checks shared by the raster, vector and label readers, and the cache folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from geovision.errors import CorruptFileError, MissingFileError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def cache_root() -> Path:
    """Where geovision keeps what it can rebuild (events, converted models): ``GEOVISION_CACHE``, else
    ``~/.cache/geovision``."""
    return Path(os.environ.get("GEOVISION_CACHE", Path.home() / ".cache" / "geovision"))


def is_remote(path: str | os.PathLike[str]) -> bool:
    """True for URLs (``https://``, ``s3://`` ...) and GDAL virtual paths (``/vsi...``)."""
    text = os.fspath(path)
    return bool(_URL.match(text)) or text.startswith("/vsi")


def check_input_file(path: str | os.PathLike[str], *, kind: str = "file") -> None:
    """Raise MissingFileError / CorruptFileError for a local path that is absent, a folder or empty."""
    if is_remote(path):
        return
    local = Path(path)
    if not local.exists():
        raise MissingFileError(
            f"{kind} does not exist", path=local, fix="check the path (relative paths start from the current folder)"
        )
    if local.is_dir():
        raise CorruptFileError(f"is a folder, not a {kind}", path=local, fix="give the path of the file itself")
    if local.stat().st_size == 0:
        raise CorruptFileError(
            "file is empty (0 bytes)", path=local, fix="the download or export failed; re-create the file"
        )
