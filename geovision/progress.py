"""Progress bars that stay quiet when stdout is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], *, total: int | None = None, description: str = "",
             enabled: bool | None = None) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on a terminal, silently otherwise."""
    show = sys.stdout.isatty() if enabled is None else enabled
    if not show:
        yield from items
        return
    from rich.progress import track

    yield from track(items, total=total, description=description or "working")
