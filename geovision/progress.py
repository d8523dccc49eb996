"""Progress: a rich bar on a terminal; elsewhere (a log file, CI) a plain line every ``LINE_EVERY_S`` seconds.

``geovision -q`` silences both (:func:`set_quiet`); errors are still reported.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
LINE_EVERY_S = 10.0
_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn progress output off (``geovision -q``) or back on."""
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    return _quiet


def progress(
    items: Iterable[T], *, total: int | None = None, description: str = "", enabled: bool | None = None
) -> Iterator[T]:
    """Iterate ``items`` with a rich bar on a terminal, periodic plain lines otherwise, nothing when quiet.

    ``enabled=False`` is silent; ``enabled=True`` forces the bar.
    """
    if enabled is False or (enabled is None and _quiet):
        yield from items
        return
    if enabled or sys.stdout.isatty():
        from rich.progress import track

        yield from track(items, total=total, description=description or "working")
        return
    yield from _lines(items, total, description or "working")


def _lines(items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
    """Print ``description: done/total (pct %)`` at most every LINE_EVERY_S seconds, and at the end of a long loop."""
    started = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= LINE_EVERY_S:
            last = now
            print(_line(description, done, total, now - started), flush=True)
    elapsed = time.monotonic() - started
    if elapsed >= LINE_EVERY_S:
        print(_line(description, done, total, elapsed), flush=True)


def _line(description: str, done: int, total: int | None, elapsed_s: float) -> str:
    share = f" ({100 * done / total:.0f} %)" if total else ""
    return f"{description}: {done}/{total if total else '?'}{share}, {elapsed_s:.0f} s"
