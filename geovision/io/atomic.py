"""Atomic outputs: write to a temp file in the same folder, then rename into place."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from geovision.errors import OutputExistsError, writing_to


def check_output(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Return ``path`` as a Path; raise if it exists and ``overwrite`` is false."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            "output already exists", path=path, fix="pass --overwrite to replace it, or choose another output path"
        )
    return path


def temp_path_for(path: Path) -> Path:
    """A unique hidden sibling of ``path`` (same folder, so the final rename is atomic)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp")  # what temp_path_for makes (and GDAL's .msk/.aux.xml beside it)


def remove_stale_temps(folder: str | os.PathLike[str]) -> int:
    """Delete the temporary files a killed writer left anywhere under ``folder``; return how many.

    Call it only while no writer is at work there (``geovision run`` holds the folder's lock).
    """
    removed = 0
    for path in sorted(Path(folder).rglob(".*"), reverse=True):
        if TEMP_NAME.match(path.name):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, overwrite: bool = False, verify: Callable[[Path], None] | None = None
) -> Iterator[Path]:
    """Yield a temporary path; on success move it onto ``path``, on failure delete it.

    An existing ``path`` is left untouched unless the block succeeds, ``verify(tmp)`` (when
    given) raises nothing, and ``overwrite`` is true. Works for files and for folders. An
    OSError such as a full disk becomes an :class:`~geovision.errors.OutputWriteError`
    naming the folder; the temporary file is always removed.
    """
    final = check_output(path, overwrite=overwrite)
    with writing_to(final):
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(final)
    try:
        with writing_to(final):
            yield tmp
            _finish(tmp, final, verify)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _finish(tmp: Path, final: Path, verify: Callable[[Path], None] | None) -> None:
    """Verify ``tmp`` and move it onto ``final`` (a folder replaces a folder)."""
    if not tmp.exists():
        raise FileNotFoundError(f"{tmp}: the writer produced no output for {final}")
    if verify is not None:
        verify(tmp)
    if final.is_dir():
        backup = temp_path_for(final)
        os.replace(final, backup)
        os.replace(tmp, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(tmp, final)
