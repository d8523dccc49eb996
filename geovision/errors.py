"""Error types of geovision.

Every error is a :class:`GeovisionError` *and* the builtin exception that fits
(``FileNotFoundError``, ``ValueError`` ...), so callers can catch either. Each
error names the offending file or option and says how to fix it; the CLI turns
any of them into a one-line message and exit code 2.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from os import PathLike
from pathlib import Path


class GeovisionError(Exception):
    """Base class: a problem with the user's input, configuration or environment."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | PathLike[str] | None = None, fix: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class InputFileError(GeovisionError, OSError):
    """An input file cannot be used (missing, empty, truncated, corrupt)."""


class MissingFileError(InputFileError, FileNotFoundError):
    """An input file does not exist."""


class CorruptFileError(InputFileError):
    """An input file exists but cannot be read completely."""


class GeoreferenceError(GeovisionError, ValueError):
    """A raster or vector has no (or an unusable) georeference."""


class AlignmentError(GeovisionError, ValueError):
    """Two rasters cannot be put on one grid."""


class NoOverlapError(AlignmentError):
    """Two inputs do not overlap."""


class BandCountError(GeovisionError, ValueError):
    """A raster has the wrong number of bands for the requested use."""


class NodataError(GeovisionError, ValueError):
    """A nodata value is invalid (e.g. outside the dtype's range)."""


class OutputExistsError(GeovisionError, FileExistsError):
    """An output exists and ``--overwrite`` was not given."""


class OutputWriteError(GeovisionError, OSError):
    """An output could not be written or is incomplete (disk full, read-only or forbidden folder)."""


class ConfigError(GeovisionError, ValueError):
    """A configuration or catalog file is invalid."""


class ModelBundleError(GeovisionError, ValueError):
    """A model bundle is missing, unknown or incompatible."""


class StackError(GeovisionError, RuntimeError):
    """The installed software stack is broken."""


#: errno values of OSErrors that mean "this output cannot be written here"
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def output_write_error(error: OSError, path: str | PathLike[str] | None = None) -> OutputWriteError | None:
    """A clear :class:`OutputWriteError` for an OSError on an output (None when it is not one of those)."""
    if error.errno not in WRITE_ERRNOS:
        return None
    where = path or error.filename
    folder = Path(where).parent if where else None
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        message, fix = "no space left to write the output", "free disk space there or choose another --out folder"
    else:
        message, fix = "the output folder cannot be written", "make it writable or choose another --out folder"
    return OutputWriteError(f"{message} ({os.strerror(error.errno)})", path=folder or where, fix=fix)


@contextlib.contextmanager
def writing_to(path: str | PathLike[str]) -> Iterator[None]:
    """Turn an OSError that means "cannot write here" (disk full, read-only ...) into an OutputWriteError.

    The error names ``path``.
    """
    try:
        yield
    except OSError as error:
        converted = output_write_error(error, path)
        if converted is None:
            raise
        raise converted from error
