"""Disaster Impact Index (Doshi, Basu & Pang 2018) on a grid of cells.

For every cell ``g``: ``f_g`` = feature pixels before, ``c_g`` = pixels that are
feature before and missing after, ``DII_g = c_g / mean(f)`` and the per-cell lost
fraction ``c_g / f_g``. Works on numpy or dask arrays (lazy for dask), so a
country-size mosaic is reduced chunk by chunk.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr
from affine import Affine

from geovision import defaults
from geovision.errors import ConfigError
from geovision.impact.grid import block_sum, cell_centres, cell_pixel_counts, cell_transform, is_dask

MeanOver = Literal["all", "with_features"]
DII_VARIABLES = ("f", "c", "dii", "lost_fraction", "valid_fraction")


def _plain(array: Any) -> Any:
    """The numpy/dask array behind an xarray object (or the array itself)."""
    return array.data if isinstance(array, xr.DataArray) else array


def feature_mask(array: Any, tau: float) -> tuple[Any, Any]:
    """``(feature, finite)``: pixels at or above ``tau``, and pixels that are finite (not NaN or inf)."""
    array = _plain(array)
    if np.issubdtype(array.dtype, np.bool_):
        return array, None
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)  # the readers' rule: NaN and inf are no data (numpy or dask)
        return (array >= tau) & finite, finite
    return array >= tau, None


def dilate(mask: Any, radius_px: int) -> Any:
    """Binary dilation by a disk of ``radius_px`` (numpy or dask; dask uses overlapping chunks)."""
    if radius_px <= 0:
        return mask
    from scipy import ndimage
    from skimage.morphology import disk

    footprint = disk(radius_px).astype(bool)

    def _dilate(block: np.ndarray) -> np.ndarray:
        return ndimage.binary_dilation(block, structure=footprint)

    if is_dask(mask):
        return mask.map_overlap(_dilate, depth=radius_px, boundary="none", dtype=bool)
    return _dilate(np.asarray(mask))


def check_tolerance_px(tolerance_px: int) -> int:
    """``tolerance_px`` as an int; ConfigError unless it is a whole number >= 0."""
    if tolerance_px < 0 or int(tolerance_px) != tolerance_px:
        raise ConfigError(
            f"tolerance must be a whole number of pixels >= 0, got {tolerance_px!r}",
            fix="pass --tolerance-px 0, 1, 2 ...",
        )
    return int(tolerance_px)


def check_dii_options(mean_over: str, min_valid_fraction: float) -> None:
    """ConfigError unless ``mean_over`` is ``all``/``with_features`` and ``min_valid_fraction`` in [0, 1]."""
    if mean_over not in ("all", "with_features"):
        raise ConfigError(
            f"mean_over must be 'all' or 'with_features', got {mean_over!r}",
            fix="pass --mean-over all or --mean-over with_features",
        )
    if not 0.0 <= min_valid_fraction <= 1.0:
        raise ConfigError(f"min_valid_fraction must be in [0, 1], got {min_valid_fraction!r}")


def lost_pixels(
    pre: Any, post: Any, *, valid: Any = None, tau: float = defaults.TAU, tolerance_px: int = 0
) -> tuple[Any, Any, Any]:
    """``(before, lost, valid)`` pixel masks (numpy or dask, same kind as the input).

    ``before`` = feature before on valid pixels; ``lost`` = feature before and no
    feature after within ``tolerance_px`` (a misregistration allowance); ``valid``
    = caller's valid mask, and pre/post both finite.
    """
    pre_a, post_a = _plain(pre), _plain(post)
    if pre_a.shape != post_a.shape:
        raise ConfigError(
            f"pre and post masks differ in shape: {pre_a.shape} vs {post_a.shape}",
            fix="put both masks on one grid first (geovision align)",
        )
    tolerance_px = check_tolerance_px(tolerance_px)
    before, pre_ok = feature_mask(pre_a, tau)
    after, post_ok = feature_mask(post_a, tau)
    ok = None
    for part in (None if valid is None else _plain(valid).astype(bool), pre_ok, post_ok):
        if part is not None:
            if part.shape != pre_a.shape:
                raise ConfigError(
                    f"valid mask shape {part.shape} differs from the masks' {pre_a.shape}",
                    fix="use a valid mask on the same grid as the masks",
                )
            ok = part if ok is None else ok & part
    if ok is None:
        ok = _ones_like(pre_a)
    before = before & ok
    lost = before & ~dilate(after & ok, tolerance_px)  # nodata never counts as a feature after
    return before, lost, ok


def compute_dii_grid(
    pre: Any,
    post: Any,
    *,
    valid: Any = None,
    cell_px: int = defaults.CELL_PX,
    tau: float = defaults.TAU,
    mean_over: MeanOver = "all",
    tolerance_px: int = 0,
    min_valid_fraction: float = 0.5,
    transform: Affine | None = None,
    crs: Any = None,
) -> xr.Dataset:
    """DII grid from pre and post feature masks or probabilities (``>= tau`` is a feature).

    Cells whose valid pixels cover less than ``min_valid_fraction`` of a full cell,
    or (for ``dii``/``lost_fraction``) have no feature before, are NaN (nodata).
    ``mean_over`` chooses the cells averaged in the DII denominator: all valid
    cells, or only valid cells with features. Variables: ``f``, ``c``, ``n_valid``
    (pixel counts), ``valid_fraction``, ``dii``, ``lost_fraction`` and ``cell_valid``;
    dims ``(y, x)`` with cell-centre coordinates (pixel units when no ``transform``).
    Dask input gives a lazy Dataset.
    """
    check_dii_options(mean_over, min_valid_fraction)
    if transform is None and isinstance(pre, xr.DataArray) and "spatial_ref" in pre.coords:
        transform, crs = pre.rio.transform(), pre.rio.crs if crs is None else crs
    before, lost, ok = lost_pixels(pre, post, valid=valid, tau=tau, tolerance_px=tolerance_px)
    f = block_sum(before, cell_px)
    c = block_sum(lost, cell_px)
    n_valid = block_sum(ok, cell_px)
    return dii_from_counts(
        f,
        c,
        n_valid,
        raster_shape=before.shape,
        cell_px=cell_px,
        mean_over=mean_over,
        min_valid_fraction=min_valid_fraction,
        transform=transform,
        crs=crs,
        attrs={"tau": float(tau), "tolerance_px": int(tolerance_px)},
    )


def mean_features(f: Any, cell_valid: Any, mean_over: MeanOver = "all") -> Any:
    """The DII denominator: mean feature pixels per valid cell (or per valid cell with features)."""
    averaged = cell_valid if mean_over == "all" else cell_valid & (f > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (f * averaged).sum() / averaged.sum()


def dii_from_counts(
    f: Any,
    c: Any,
    n_valid: Any,
    *,
    raster_shape: tuple[int, int],
    cell_px: int,
    mean_over: MeanOver = "all",
    min_valid_fraction: float = 0.5,
    transform: Affine | None = None,
    crs: Any = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build the DII Dataset from per-cell counts (``f``, ``c``, valid pixels)."""
    dims = ("y", "x")
    full = float(cell_px * cell_px)
    valid_fraction = n_valid / full
    cell_valid = valid_fraction >= max(min_valid_fraction, 1e-12)
    mean_f = mean_features(f, cell_valid, mean_over)
    defined = cell_valid & (f > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dii = _where(defined, c / mean_f)
        lost_fraction = _where(defined, c / np.maximum(f, 1))
    y, x = cell_centres(transform if transform is not None else Affine.identity(), f.shape, cell_px)
    ds = xr.Dataset(
        {
            "f": (dims, f),
            "c": (dims, c),
            "n_valid": (dims, n_valid),
            "valid_fraction": (dims, valid_fraction.astype(np.float32)),
            "dii": (dims, dii.astype(np.float32)),
            "lost_fraction": (dims, lost_fraction.astype(np.float32)),
            "cell_valid": (dims, cell_valid),
        },
        coords={"y": y, "x": x},
        attrs={
            "cell_px": int(cell_px),
            "mean_over": mean_over,
            "min_valid_fraction": float(min_valid_fraction),
            "raster_height": int(raster_shape[0]),
            "raster_width": int(raster_shape[1]),
            **(attrs or {}),
        },
    )
    ds["mean_f"] = mean_f
    edge = cell_pixel_counts(raster_shape, cell_px)
    ds["cell_pixels"] = (dims, edge)
    if transform is not None:
        ds.attrs["transform"] = tuple(cell_transform(transform, cell_px))[:6]
        ds.attrs["pixel_transform"] = tuple(transform)[:6]
    if crs is not None:
        from rasterio.crs import CRS

        ds.attrs["crs"] = CRS.from_user_input(crs).to_wkt()
    if transform is not None and crs is not None:  # rioxarray's spatial_ref: ds.rio.crs, ds.rio.to_raster() work
        import rioxarray  # noqa: F401  (registers the .rio accessor)

        wkt = ds.attrs["crs"]
        ds = ds.rio.write_crs(wkt).rio.write_transform(cell_transform(transform, cell_px))
        ds.attrs["crs"] = wkt  # write_crs drops it; the exporters read it
    return ds


def _ones_like(array: Any) -> Any:
    """An all-true boolean array shaped (and chunked) like ``array``."""
    if is_dask(array):
        import dask.array as da

        return da.ones_like(array, dtype=bool)
    return np.ones(array.shape, dtype=bool)


def _where(condition: Any, values: Any) -> Any:
    """``values`` where ``condition`` else NaN (numpy or dask)."""
    if is_dask(values) or is_dask(condition):
        import dask.array as da

        return da.where(condition, values, np.nan)
    return np.where(condition, values, np.nan)


def flag_impacted(ds: xr.Dataset, theta: float, *, variable: str = "dii") -> xr.DataArray:
    """Impacted cells: 1.0 where ``variable >= theta``, 0.0 below, NaN where undefined."""
    values = ds[variable]
    flags = xr.where(values.notnull(), (values >= theta).astype(np.float32), np.nan).rename("impacted")
    flags.attrs.update(theta=float(theta), variable=variable)
    return flags
