"""Small value types shared by every layer (no third-party imports)."""

from __future__ import annotations

from typing import Literal, NamedTuple


class Bounds(NamedTuple):
    """Axis-aligned bounds ``(xmin, ymin, xmax, ymax)`` in some CRS's units."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def width(self) -> float:
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        return self.ymax - self.ymin

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def intersection(self, other: Bounds) -> Bounds | None:
        """The overlap of two bounds, or ``None`` when they do not overlap (touching is no overlap)."""
        box = Bounds(
            max(self.xmin, other.xmin),
            max(self.ymin, other.ymin),
            min(self.xmax, other.xmax),
            min(self.ymax, other.ymax),
        )
        return box if box.width > 0 and box.height > 0 else None


class PixelWindow(NamedTuple):
    """A window in pixel space: ``col_off, row_off, width, height``."""

    col_off: int
    row_off: int
    width: int
    height: int

    @property
    def row_slice(self) -> slice:
        return slice(self.row_off, self.row_off + self.height)

    @property
    def col_slice(self) -> slice:
        return slice(self.col_off, self.col_off + self.width)


#: inference engines/precisions (`--runtime`): auto picks bf16 on a capable CPU/GPU, else fp32
RuntimeName = Literal["auto", "fp32", "bf16", "fp16", "compile", "onnx", "openvino"]
RUNTIMES: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16", "compile", "onnx", "openvino")
