"""Content hashes of input files, computed once per process for an unchanged file.

The run record and the inference work store both key on what the inputs *hold*, so a
file replaced in place (same path, new pixels) is never mistaken for the old one. A
hash is reused only while the file's size, modification and change times and inode are unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_cache: dict[tuple, str] = {}


def _parts(path: Path) -> list[Path]:
    """The files that make up ``path``: all parts of a Shapefile (an edited .prj or .dbf changes it)."""
    if path.suffix.lower() == ".shp":
        return [p for p in (path.with_suffix(s) for s in SHAPEFILE_PARTS) if p.exists()]
    return [path]


def file_sha256(path: str | os.PathLike[str], *, block: int = 1 << 20) -> str:
    """SHA-256 of a file's content (of a Shapefile, of all its parts); cached while the file is unchanged."""
    parts = _parts(Path(path))
    stamp = tuple(
        (str(p.resolve()), s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino) for p in parts for s in [p.stat()]
    )
    if stamp in _cache:
        return _cache[stamp]
    digest = hashlib.sha256()
    for part in parts:
        with open(part, "rb") as stream:
            for chunk in iter(lambda: stream.read(block), b""):
                digest.update(chunk)
    _cache[stamp] = digest.hexdigest()
    return _cache[stamp]
