"""Cloud-Optimized GeoTIFF writers (streaming, atomic) and validation.

:class:`StreamingCogWriter` writes window by window into a hidden temporary tiled
GeoTIFF beside the output, then GDAL's COG driver turns it into the final COG (512 px
tiles, DEFLATE or ZSTD, overviews: nearest for masks, average for continuous data)
through :func:`~geovision.io.atomic.atomic_output`. If anything fails, the temporary
files are removed and an existing output is left untouched.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from geovision.errors import NodataError, OutputWriteError
from geovision.io.atomic import atomic_output, check_output, temp_path_for
from geovision.io.raster import nodata_fits
from geovision.types import PixelWindow

log = logging.getLogger(__name__)

Kind = Literal["mask", "continuous"]
BLOCK_PX = 512
OVERVIEW_RESAMPLING: dict[str, str] = {"mask": "NEAREST", "continuous": "AVERAGE"}
MASK_COLORMAP: dict[int, tuple[int, int, int, int]] = {0: (0, 0, 0, 0), 1: (230, 60, 40, 255)}  # masks' palette


def _as_bands(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    return array[None] if array.ndim == 2 else array


def _cast(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast to the output dtype; floats going to integers are rounded and clipped to the type's range."""
    if array.dtype == dtype:
        return array
    if dtype.kind in "iu" and array.dtype.kind == "f":
        info = np.iinfo(dtype)
        array = np.clip(np.rint(array), info.min, info.max)
    return array.astype(dtype)


class StreamingCogWriter:
    """Context manager: ``write(window, array)`` pieces of a raster, get a validated COG on clean exit.

    ``nodata`` is written explicitly (``None`` means the file declares none). ``mask=True`` adds
    an internal per-dataset mask written through ``write(..., valid=...)``. ``colormap``
    (class -> RGB(A)) is stored as the colour table of a single-band uint8 mask. ``level``: the
    compression level (e.g. 1 for large 8-bit probability rasters: DEFLATE's default level 6 took
    5x as long for files 6 % smaller). ``scales``/``offsets`` (one per band) say how stored values
    map to physical ones (GDAL: value = stored x scale + offset).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        count: int,
        dtype: str,
        transform: Affine,
        crs: CRS | str,
        nodata: float | None,
        kind: Kind,
        overwrite: bool = False,
        colormap: dict[int, tuple] | None = None,
        band_names: list[str] | None = None,
        mask: bool = False,
        compress: Literal["DEFLATE", "ZSTD"] = "DEFLATE",
        level: int | None = None,
        scales: list[float] | None = None,
        offsets: list[float] | None = None,
    ):
        if kind not in OVERVIEW_RESAMPLING:
            raise ValueError(f"kind must be 'mask' or 'continuous', not {kind!r}")
        if nodata is not None and not nodata_fits(float(nodata), dtype):
            raise NodataError(
                f"nodata {nodata} does not fit the output type {dtype}",
                path=path,
                fix="choose a nodata value inside the type's range",
            )
        if colormap is not None and (count != 1 or np.dtype(dtype) != np.uint8):
            raise ValueError("a colour table needs a single-band uint8 raster")
        if band_names is not None and len(band_names) != count:
            raise ValueError(f"{len(band_names)} band names for {count} bands")
        self.path = Path(path)
        self.width, self.height, self.count = int(width), int(height), int(count)
        self.dtype = np.dtype(dtype)
        self.transform, self.crs, self.nodata, self.kind = transform, crs, nodata, kind
        self.overwrite, self.colormap, self.band_names = overwrite, colormap, band_names
        self.mask, self.compress, self.level = mask, compress, level
        self.scales, self.offsets = scales, offsets
        self._tmp: Path | None = None
        self._dataset: rasterio.io.DatasetWriter | None = None

    def __enter__(self) -> StreamingCogWriter:
        check_output(self.path, overwrite=self.overwrite)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path_for(self.path.with_suffix(".tif"))
        profile = dict(
            driver="GTiff",
            width=self.width,
            height=self.height,
            count=self.count,
            dtype=self.dtype.name,
            crs=self.crs,
            transform=self.transform,
            nodata=self.nodata,
            tiled=True,
            blockxsize=BLOCK_PX,
            blockysize=BLOCK_PX,
            compress="ZSTD",
            zstd_level=1,
            bigtiff="IF_SAFER",
            interleave="pixel" if self.count > 1 else "band",
        )
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            self._dataset = rasterio.open(self._tmp, "w", **profile)
        self._write_metadata(self._dataset)
        return self

    def write(self, window: PixelWindow, array: np.ndarray, *, valid: np.ndarray | None = None) -> None:
        """Write ``[count, h, w]`` (or ``[h, w]`` for one band) at ``window``; ``valid`` feeds the mask."""
        if self._dataset is None:
            raise RuntimeError("StreamingCogWriter.write called outside its `with` block")
        window = PixelWindow(*window)
        array = _as_bands(array)
        if array.shape != (self.count, window.height, window.width):
            raise ValueError(
                f"array of shape {array.shape} does not fit window {tuple(window)} with {self.count} band(s)"
            )
        if (
            window.col_off < 0
            or window.row_off < 0
            or window.col_off + window.width > self.width
            or window.row_off + window.height > self.height
        ):
            raise ValueError(f"window {tuple(window)} is outside the {self.width}x{self.height} output")
        rio_window = Window(*window)
        mask = None
        if self.mask:
            if valid is None:
                raise ValueError("this writer has a mask: pass valid=... to write()")
            mask = np.where(valid, 255, 0).astype(np.uint8)
        try:
            self._dataset.write(_cast(array, self.dtype), window=rio_window)
            if mask is not None:
                self._dataset.write_mask(mask, window=rio_window)
        except rasterio.errors.RasterioIOError as error:  # GDAL's "No space left on device", quota ...
            raise OutputWriteError(
                f"writing failed ({str(error).rsplit(': ', 1)[-1]})",
                path=self.path,
                fix="check the free space and permissions of its folder, then rerun",
            ) from error

    @property
    def predictor(self) -> bool:
        """Horizontal differencing helps smooth float rasters; on noisy 8-bit probabilities it only costs time."""
        return self.dtype.kind == "f"

    def _write_metadata(self, dataset: rasterio.io.DatasetWriter) -> None:
        if self.colormap is not None:
            dataset.write_colormap(1, {int(k): tuple(int(c) for c in v) for k, v in self.colormap.items()})
        for band, name in enumerate(self.band_names or [], start=1):
            dataset.set_band_description(band, name)
        if self.scales is not None:
            dataset.scales = tuple(self.scales)
        if self.offsets is not None:
            dataset.offsets = tuple(self.offsets)
        dataset.update_tags(GEOVISION_KIND=self.kind)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._dataset is not None:
                self._dataset.close()
            if exc_type is None:
                with atomic_output(self.path, overwrite=self.overwrite, verify=self._verify) as out:
                    rasterio.shutil.copy(
                        self._tmp,
                        out,
                        driver="COG",
                        BLOCKSIZE=BLOCK_PX,
                        COMPRESS=self.compress,
                        PREDICTOR="YES" if self.kind == "continuous" and self.predictor else "NO",
                        OVERVIEW_RESAMPLING=OVERVIEW_RESAMPLING[self.kind],
                        BIGTIFF="IF_SAFER",
                        NUM_THREADS="ALL_CPUS",
                        **({"LEVEL": self.level} if self.level else {}),
                    )
        finally:
            self._dataset = None
            if self._tmp is not None:
                for leftover in (self._tmp, Path(f"{self._tmp}.msk"), Path(f"{self._tmp}.aux.xml")):
                    leftover.unlink(missing_ok=True)

    def _verify(self, path: Path) -> None:
        """Raise unless ``path`` is this writer's complete COG (shape, every tile on disk, rio-cogeo valid)."""
        try:
            check_complete_tiff(path, width=self.width, height=self.height, count=self.count)
        except OutputWriteError as error:  # name the output, not its temporary file
            raise OutputWriteError(error.message, path=self.path, fix=error.fix) from error
        problems = cog_problems(path)
        if problems:
            raise OutputWriteError(
                f"the written file is not a valid COG ({problems[0]})",
                path=self.path,
                fix="check the free space and the disk, then rerun",
            )


def check_complete_tiff(path: str | os.PathLike[str], *, width: int, height: int, count: int) -> None:
    """Raise :class:`OutputWriteError` unless the GeoTIFF opens with this shape and every tile lies in the file.

    A write that failed half way (disk full, quota) leaves tile offsets pointing past the end of
    the file, or a header that does not read; GDAL only logs such errors, so they are checked here
    (every tile of every band and overview: a few hundred tag reads for a 10,000 px scene).
    """
    size = Path(path).stat().st_size
    try:
        with rasterio.open(path) as src:
            shape, levels = (src.width, src.height, src.count), len(src.overviews(1)) if src.count else 0
        if shape != (width, height, count):
            raise OutputWriteError(
                f"the written file is {'x'.join(map(str, shape))}, not {width}x{height}x{count}",
                path=path,
                fix="check the disk and rerun",
            )
        for level in [None, *range(levels)]:
            with rasterio.open(path, overview_level=level) as src:
                if _tile_end(src) > size:
                    raise OutputWriteError(
                        "the written file is truncated (its tiles run past its end)",
                        path=path,
                        fix="free disk space and rerun",
                    )
    except rasterio.errors.RasterioError as error:
        raise OutputWriteError(
            f"the written file does not read back ({str(error).rsplit(': ', 1)[-1]})",
            path=path,
            fix="free disk space and rerun",
        ) from error


def _tile_end(src: rasterio.io.DatasetReader) -> int:
    """The largest byte offset + size of any tile of ``src`` (0 for a file with only empty tiles)."""
    block_h, block_w = src.block_shapes[0]
    end = 0
    for band in range(1, src.count + 1):
        for row in range(-(-src.height // block_h)):
            for col in range(-(-src.width // block_w)):
                offset = src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band)
                if offset:  # an empty (sparse) tile has none
                    end = max(end, int(offset) + int(src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band)))
    return end


def write_cog(
    path: str | os.PathLike[str],
    array: np.ndarray,
    *,
    transform: Affine,
    crs: CRS | str,
    nodata: float | None,
    kind: Kind,
    overwrite: bool = False,
    colormap: dict[int, tuple] | None = None,
    band_names: list[str] | None = None,
    valid: np.ndarray | None = None,
) -> Path:
    """Write an in-memory ``[bands, h, w]`` or ``[h, w]`` array as a COG (atomically); ``valid`` adds a mask."""
    array = _as_bands(array)
    count, height, width = array.shape
    with StreamingCogWriter(
        path,
        width=width,
        height=height,
        count=count,
        dtype=array.dtype.name,
        transform=transform,
        crs=crs,
        nodata=nodata,
        kind=kind,
        overwrite=overwrite,
        colormap=colormap,
        band_names=band_names,
        mask=valid is not None,
    ) as writer:
        writer.write(PixelWindow(0, 0, width, height), array, valid=valid)
    return Path(path)


def cog_problems(path: str | os.PathLike[str]) -> list[str]:
    """The errors rio-cogeo's COG validation finds in ``path`` (empty when it is a valid COG)."""
    from rio_cogeo.cogeo import cog_validate

    is_valid, errors, warnings = cog_validate(str(path), quiet=True)
    for warning in warnings:
        log.debug("%s: COG warning: %s", path, warning)
    return [] if is_valid else list(errors) or ["not a valid COG"]


def validate_cog(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a valid Cloud-Optimized GeoTIFF (rio-cogeo's validation)."""
    problems = cog_problems(path)
    for problem in problems:
        log.warning("%s: %s", path, problem)
    return not problems
