"""Window planning: overlapping chips whose crops tile a scene exactly once.

With ``stride = chip_px - overlap_px`` the scene is cut into crops of ``stride`` pixels
(the last one shorter). Each chip is read with ``overlap_px // 2`` extra pixels before its
crop and the rest after it, so the crop sits at the same place inside every chip. Chips
at the scene edges extend past it: read them boundless (padding is invalid) and keep only
``crop_in_chip`` of the result.
"""

from __future__ import annotations

from typing import NamedTuple

from geovision.errors import ConfigError
from geovision.types import PixelWindow


class ChipWindow(NamedTuple):
    """One chip: the window to read, and the part of the scene it owns."""

    read: PixelWindow  # full chip in scene pixels (may extend past the scene)
    crop: PixelWindow  # the scene pixels this chip owns
    crop_in_chip: PixelWindow  # ``crop`` in chip coordinates


def _starts(size: int, stride: int) -> list[int]:
    return list(range(0, size, stride))


def plan_windows(width: int, height: int, *, chip_px: int, overlap_px: int = 0, multiple: int = 1) -> list[ChipWindow]:
    """Chips of ``chip_px`` overlapping by ``overlap_px``, row by row; their crops tile the scene once.

    ``multiple`` rounds the stride up to a multiple of it (the chips grow by as much), so that every
    crop starts on a cell boundary. :meth:`geovision.io.grid.Grid.tiles` is the usual way in.
    """
    if width < 1 or height < 1:
        raise ConfigError(f"cannot plan windows over an empty {width}x{height} scene")
    if chip_px < 1:
        raise ConfigError(f"chip_px must be positive, got {chip_px}", fix="use e.g. chip_px=512")
    if not 0 <= overlap_px < chip_px:
        raise ConfigError(
            f"overlap_px must be in [0, chip_px) = [0, {chip_px}), got {overlap_px}",
            fix="use an overlap smaller than the chip, e.g. chip_px // 4",
        )
    if multiple < 1:
        raise ConfigError(f"multiple must be >= 1, got {multiple}", fix="use 1, or the cell size in pixels")
    stride = -(-(chip_px - overlap_px) // multiple) * multiple
    chip_px = stride + overlap_px
    before = overlap_px // 2
    chips: list[ChipWindow] = []
    for row in _starts(height, stride):
        crop_h = min(stride, height - row)
        for col in _starts(width, stride):
            crop_w = min(stride, width - col)
            chips.append(
                ChipWindow(
                    read=PixelWindow(col - before, row - before, chip_px, chip_px),
                    crop=PixelWindow(col, row, crop_w, crop_h),
                    crop_in_chip=PixelWindow(before, before, crop_w, crop_h),
                )
            )
    return chips


def clip_window(window: PixelWindow, width: int, height: int) -> tuple[PixelWindow, tuple[slice, slice]] | None:
    """The part of ``window`` inside a ``width`` x ``height`` raster, and where it goes in the window.

    Returns ``(inner, (rows, cols))``: ``inner`` in raster pixels, ``rows``/``cols`` slices of the
    window-shaped output array; ``None`` when the window lies wholly outside.
    """
    col0, row0 = max(window.col_off, 0), max(window.row_off, 0)
    col1 = min(window.col_off + window.width, width)
    row1 = min(window.row_off + window.height, height)
    if col1 <= col0 or row1 <= row0:
        return None
    inner = PixelWindow(col0, row0, col1 - col0, row1 - row0)
    rows = slice(row0 - window.row_off, row1 - window.row_off)
    cols = slice(col0 - window.col_off, col1 - window.col_off)
    return inner, (rows, cols)
