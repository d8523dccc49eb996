"""One pixel grid type: CRS, transform and size, compared with a tolerance, cut into tiles or cells.

In the spirit of odc-geo's ``GeoBox``/``GeoboxTiles``: a :class:`Grid` is what two rasters must
share to be read pixel to pixel. ``a == b`` (and :meth:`Grid.check_same`, which raises a clear
error instead) allow ``1e-6`` of a pixel; a grid without a CRS (an in-memory array, an
ungeoreferenced image) matches any CRS, so only its size and transform are compared.
:meth:`Grid.tiles` plans the windows every tiler uses (:func:`~geovision.io.windows.plan_windows`),
:meth:`Grid.cells` is the analysis grid of square cells (a partial last cell included).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from affine import Affine, TransformNotInvertibleError

from geovision.errors import ConfigError
from geovision.io.windows import ChipWindow, plan_windows
from geovision.types import Bounds

#: grids whose pixel edges lie within this fraction of a pixel of each other are the same grid
TOLERANCE_PX = 1e-6
ALIGN_FIX = "align them first (geovision align) so they share CRS, size and transform"


def n_cells(size_px: int, cell_px: int) -> int:
    """Number of cells along an axis of ``size_px`` pixels (the last one may be partial)."""
    return -(-size_px // cell_px)


def check_cell_px(cell_px: int) -> int:
    """``cell_px`` as an int; ConfigError unless it is a whole number >= 1."""
    if int(cell_px) != cell_px or cell_px < 1:
        raise ConfigError(
            f"cell size must be a whole number of pixels >= 1, got {cell_px!r}",
            fix="pass --cell-px as a positive integer (or --cell-m in metres)",
        )
    return int(cell_px)


def _crs_name(crs: Any) -> str:
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    text = f"EPSG:{epsg}" if epsg else (crs.to_string() if hasattr(crs, "to_string") else str(crs))
    return " ".join(text.split())[:80]


def _path_text(path: Any) -> str:
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)


def _number(value: float) -> str:
    return f"{value:.10g}"


@dataclass(frozen=True, eq=False)
class Grid:
    """A pixel grid: CRS (None when unknown), affine transform and size in pixels.

    ``==`` is :meth:`same_as` with the default tolerance; grids hash by size only.
    """

    crs: Any
    transform: Affine
    width: int
    height: int

    @classmethod
    def from_dataset(cls, ds: Any) -> Grid:
        """The grid of a rasterio dataset (or anything with ``crs``, ``transform``, ``width``, ``height``)."""
        return cls(ds.crs, ds.transform, int(ds.width), int(ds.height))

    @property
    def res_m(self) -> float:
        """Pixel width in CRS units (metres on the grids :mod:`geovision.io.align` builds)."""
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, as numpy orders an array of the grid."""
        return self.height, self.width

    @property
    def bounds(self) -> Bounds:
        """The extent of a north-up grid ``(xmin, ymin, xmax, ymax)``."""
        t = self.transform
        return Bounds(t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    # --- comparison -------------------------------------------------------------------------

    def difference(self, other: Grid, *, tolerance: float = TOLERANCE_PX) -> str | None:
        """What differs between two grids (CRS, size, transform), ``None`` when they are the same.

        ``tolerance`` is in pixels of ``self``: the transforms match when every pixel corner of one
        grid lies within it of the same corner of the other. A missing CRS matches any CRS.
        """
        parts = []
        if self.crs is not None and other.crs is not None and self.crs != other.crs:
            parts.append(f"CRS {_crs_name(self.crs)} vs {_crs_name(other.crs)}")
        if (self.width, self.height) != (other.width, other.height):
            parts.append(f"size {self.width}x{self.height} vs {other.width}x{other.height} px")
        transform = self._transform_difference(other, tolerance)
        if transform is not None:
            parts.append(transform)
        return "; ".join(parts) or None

    def _transform_difference(self, other: Grid, tolerance: float) -> str | None:
        a, b = self.transform, other.transform
        if a == b:
            return None
        try:
            to_pixels = ~a
        except TransformNotInvertibleError:  # a degenerate transform: compare its coefficients
            return None if a.almost_equals(b, precision=tolerance) else _transform_text(a, b)
        w, h = max(self.width, other.width, 1), max(self.height, other.height, 1)
        dc, dr = to_pixels @ (b.c, b.f)  # the other grid's origin, in pixels of this one
        linear, shift = 0.0, max(abs(dc), abs(dr))
        for x, y in ((w, 0), (0, h), (w, h)):
            col, row = to_pixels @ (b @ (x, y))
            linear = max(linear, abs(col - dc - x), abs(row - dr - y))
        if linear <= tolerance and shift <= tolerance:
            return None
        if linear > tolerance:
            return _transform_text(a, b)
        origins = f"{_number(a.c)}, {_number(a.f)} vs {_number(b.c)}, {_number(b.f)}"
        return f"pixel offset ({dc:+.4g}, {dr:+.4g}) px (origin {origins})"

    def same_as(self, other: Grid, *, tolerance: float = TOLERANCE_PX) -> bool:
        """True when the grids share CRS (or one has none), size and transform within ``tolerance`` pixels."""
        return self.difference(other, tolerance=tolerance) is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grid):
            return NotImplemented
        return self.same_as(other)

    def __hash__(self) -> int:
        return hash((self.width, self.height))

    def check_same(
        self,
        other: Grid,
        *,
        names: tuple[str, str] = ("a", "b"),
        paths: tuple[Any, Any] | None = None,
        tolerance: float = TOLERANCE_PX,
    ) -> None:
        """Raise a one-line :class:`~geovision.errors.ConfigError` unless ``other`` is the same grid.

        The message names both rasters (``names``, with their ``paths`` when given), says what
        differs and how to fix it (``geovision align``).
        """
        difference = self.difference(other, tolerance=tolerance)
        if difference is None:
            return
        paths = paths or (None, None)
        labels = [
            name if path is None else f"{name} {_path_text(path)}" for name, path in zip(names, paths, strict=True)
        ]
        raise ConfigError(f"{labels[0]} and {labels[1]} are not on one grid: {difference}", fix=ALIGN_FIX)

    # --- tiles and cells --------------------------------------------------------------------

    def tiles(self, size: int, overlap: int = 0, multiple: int = 1) -> list[ChipWindow]:
        """Windows of ``size`` pixels overlapping by ``overlap``, row by row (see :func:`plan_windows`).

        The ``crop`` of each tile is the part of the grid it owns: the crops cover the grid exactly
        once. ``multiple`` rounds the step between tiles up to a multiple of it (cell-aligned
        tiles). An empty grid has no tiles.
        """
        if self.width < 1 or self.height < 1:
            return []
        return plan_windows(self.width, self.height, chip_px=size, overlap_px=overlap, multiple=multiple)

    def cells(self, cell_px: int) -> Grid:
        """The cell grid: one pixel per square cell of ``cell_px`` pixels (the last ones may be partial)."""
        cell_px = check_cell_px(cell_px)
        return Grid(
            self.crs,
            self.transform @ Affine.scale(cell_px),
            n_cells(self.width, cell_px),
            n_cells(self.height, cell_px),
        )

    def __repr__(self) -> str:
        return f"Grid({self.width}x{self.height}, {_crs_name(self.crs)}, {tuple(self.transform)[:6]})"


def _transform_text(a: Affine, b: Affine) -> str:
    if a.b == b.b == a.d == b.d == 0:
        return f"pixel size {_number(a.a)} x {_number(a.e)} vs {_number(b.a)} x {_number(b.e)}"
    return f"transform {tuple(_number(v) for v in tuple(a)[:6])} vs {tuple(_number(v) for v in tuple(b)[:6])}"
