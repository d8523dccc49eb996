"""``geovision align``: put a pre/post pair on one grid and write them as COGs, window by window."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from geovision.cli.options import bands_option, overwrite_option

OUTPUT_NAMES = ("pre.tif", "post.tif", "valid.tif")
VALID_COLORS = {0: (0, 0, 0, 255), 1: (255, 255, 255, 255)}


def _nodata_or_mask(source) -> tuple[float | None, bool]:
    """How an output date marks invalid pixels: its own nodata, else NaN (floats) or an internal mask."""
    if source.nodata is not None:
        return source.nodata, False
    if source.is_float:
        return float("nan"), False
    return None, True


def _band_names(which: str, source) -> list[str]:
    """Output band descriptions: the model band names of an automatic choice (so `segment` finds them again)."""
    plan = source.band_plan
    if plan is not None and plan.reason != "--bands" and len(plan.bands) == len(plan.model_bands):
        return list(plan.model_bands)
    return [f"{which} band {b}" for b in source.bands]


@click.command("align")
@click.option("--pre", "pre_path", required=True, type=click.Path(dir_okay=False), help="Pre-event raster.")
@click.option("--post", "post_path", required=True, type=click.Path(dir_okay=False), help="Post-event raster.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--res-m", type=float, default=None, help="Output pixel size in metres (default: the finer input).")
@bands_option
@click.option(
    "--resampling",
    default="bilinear",
    show_default=True,
    type=click.Choice(["nearest", "bilinear", "cubic", "average", "lanczos"]),
)
@click.option(
    "--window-px",
    default=1024,
    show_default=True,
    type=click.IntRange(64, 8192),
    help="Pixels per side of each processing window.",
)
@click.option("--compress", default="DEFLATE", show_default=True, type=click.Choice(["DEFLATE", "ZSTD"]))
@overwrite_option("Replace existing outputs.")
def command(
    pre_path: str,
    post_path: str,
    out_dir: str,
    res_m: float | None,
    bands: tuple[int, ...] | None,
    resampling: str,
    window_px: int,
    compress: str,
    overwrite: bool,
) -> None:
    """Align PRE and POST onto one grid; write pre.tif, post.tif and valid.tif (COGs) into OUT.

    Without --bands, each date's red, green and blue (the shipped models' bands) are chosen from
    the file's metadata, a single band is repeated (pan-chromatic), and the output bands are named.
    """
    import numpy as np
    import rasterio

    from geovision.io.align import align_pair
    from geovision.io.atomic import check_output
    from geovision.io.bands import RGB
    from geovision.io.cog import StreamingCogWriter
    from geovision.io.windows import plan_windows
    from geovision.progress import progress

    out = Path(out_dir)
    with align_pair(
        pre_path, post_path, res_m=res_m, bands=list(bands) if bands else None, resampling=resampling, model_bands=RGB
    ) as pair:
        paths = {name: check_output(out / name, overwrite=overwrite) for name in OUTPUT_NAMES}
        windows = plan_windows(pair.width, pair.height, chip_px=window_px, overlap_px=0)
        with rasterio.Env(GDAL_CACHEMAX=256 * 2**20), ExitStack() as stack:
            writers, fills = {}, {}
            for which in ("pre", "post"):
                source = getattr(pair, which)
                fills[which], mask = _nodata_or_mask(source)
                writers[which] = stack.enter_context(
                    StreamingCogWriter(
                        paths[f"{which}.tif"],
                        width=pair.width,
                        height=pair.height,
                        count=source.count,
                        dtype=source.dtype,
                        transform=pair.transform,
                        crs=pair.crs,
                        nodata=fills[which],
                        kind="continuous",
                        overwrite=overwrite,
                        mask=mask,
                        compress=compress,
                        band_names=_band_names(which, source),
                    )
                )
            valid_writer = stack.enter_context(
                StreamingCogWriter(
                    paths["valid.tif"],
                    width=pair.width,
                    height=pair.height,
                    count=1,
                    dtype="uint8",
                    transform=pair.transform,
                    crs=pair.crs,
                    nodata=None,
                    kind="mask",
                    overwrite=overwrite,
                    colormap=VALID_COLORS,
                    band_names=["valid (pre and post)"],
                    compress=compress,
                )
            )
            for chip in progress(windows, total=len(windows), description="aligning"):
                both = np.ones((chip.crop.height, chip.crop.width), bool)
                for which, writer in writers.items():
                    data, valid = pair.read_raw(which, chip.crop)
                    if fills[which] is not None:
                        data[:, ~valid] = fills[which]
                    writer.write(chip.crop, data, valid=valid if writer.mask else None)
                    both &= valid
                valid_writer.write(chip.crop, both.astype(np.uint8))
        click.echo(f"aligned {pair.width}x{pair.height} px at {pair.res_m:g} m ({pair.crs.to_string()}) -> {out}")
