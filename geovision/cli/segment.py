"""`geovision segment`: buildings/roads probabilities and masks for one scene or a pre/post pair."""

from __future__ import annotations

import click

from geovision import defaults
from geovision.cli.options import (
    aoi_option,
    bands_option,
    device_option,
    file_option,
    model_option,
    overwrite_option,
    runtime_option,
    skip_post_option,
    value_option,
)


@click.command("segment")
@file_option("--pre", "Image to segment (the pre-event image of a pair).", required=True)
@file_option("--post", "Post-event image (aligned to --pre).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@model_option
@runtime_option
@device_option
@value_option("--chip-px", defaults.CHIP_PX, "Side of the windows the model sees.")
@value_option("--overlap-px", defaults.OVERLAP_PX, "Overlap of neighbouring windows (each keeps its centre crop).")
@value_option(
    "--batch-windows",
    defaults.BATCH_WINDOWS,
    "Windows per model batch (each gives pre + post); 0 = auto: 1 on CPU, 8 on GPU.",
)
@click.option(
    "--res-m",
    type=float,
    default=None,
    help="Resolution of the common grid in metres (default: the model's GSD when the pair's is more "
    "than 25 % off it, else the finer of the two).",
)
@skip_post_option
@bands_option
@aoi_option
@click.option("--scheduler", default=None, help="Dask scheduler: `local` or tcp://host:port (default: no Dask).")
@click.option("--resume", is_flag=True, help="Finish an interrupted run in --out.")
@overwrite_option("Replace existing outputs.")
def command(
    pre,
    post,
    out_dir,
    model,
    runtime,
    device,
    chip_px,
    overlap_px,
    batch_windows,
    res_m,
    skip_post_without_features,
    bands,
    aoi,
    scheduler,
    resume,
    overwrite,
) -> None:
    """Segment PRE (and POST, on one grid) tile by tile into COG probabilities and masks (within --aoi)."""
    from geovision.inference.engine import SegmentOptions, segment_scene
    from geovision.inference.predictor import bundle_ref
    from geovision.inference.sources import SourceSpec

    result = segment_scene(
        SourceSpec(pre=pre, post=post, res_m=res_m, bands=bands, aoi=aoi),
        bundle_ref(model, runtime=runtime, device=device),
        out_dir,
        options=SegmentOptions(
            chip_px=chip_px,
            overlap_px=overlap_px,
            batch_windows=batch_windows,
            skip_post_without_features=skip_post_without_features,
        ),
        overwrite=overwrite,
        resume=resume,
        scheduler=scheduler,
    )
    megapixels = result.width * result.height * (2 if post else 1) / 1e6
    line = (
        f"segmented {result.width}x{result.height} px ({result.windows} windows, "
        f"{result.batches_resumed} batches resumed) with runtime {result.runtime} in "
        f"{result.seconds_total:.1f} s ({megapixels / max(result.seconds_predict, 1e-9):.2f} MP/s)"
    )
    if "post_windows_skipped" in result.extra:
        line += f", {result.extra['post_windows_skipped']} post windows without pre-event features skipped"
    click.echo(line)
    for name, path in result.outputs.items():
        click.echo(f"  {name}: {path}")
