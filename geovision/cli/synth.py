"""``geovision synth``: write a seeded synthetic disaster event (images + exact ground truth)."""

from __future__ import annotations

import click

from geovision.cli.options import overwrite_option
from geovision.errors import ConfigError


@click.command(name="synth")
@click.option("--size", type=int, default=None, help="Square scene size in pixels (sets width and height).")
@click.option("--width", type=int, default=None, help="Scene width in pixels.")
@click.option("--height", type=int, default=None, help="Scene height in pixels.")
@click.option("--gsd-m", type=float, default=0.5, show_default=True, help="Ground sample distance (m/px).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same bytes.")
@click.option(
    "--event",
    type=click.Choice(["tornado", "fire", "flood"]),
    default="tornado",
    show_default=True,
    help="What happens between the two images.",
)
@click.option("--crs", default="EPSG:32615", show_default=True, help="Projected CRS in metres (e.g. a UTM zone).")
@click.option(
    "--origin",
    type=(float, float),
    default=None,
    metavar="X Y",
    help="Map coordinates of the upper-left corner [default: 360000 4110000].",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (created; must not exist unless --overwrite).",
)
@overwrite_option("Replace an existing output folder.")
def command(
    size: int | None,
    width: int | None,
    height: int | None,
    gsd_m: float,
    seed: int,
    event: str,
    crs: str,
    origin: tuple[float, float] | None,
    out_dir: str,
    overwrite: bool,
) -> None:
    """Generate a before/after scene of a disaster with exact ground truth.

    Writes pre.tif, post.tif, building/road masks before and after,
    buildings.gpkg (damage labels), roads.gpkg, affected_area.gpkg,
    census.gpkg and event.json into OUT.
    """
    from geovision.synth import generate_event

    if size is not None and (width is not None or height is not None):
        raise ConfigError("--size cannot be combined with --width/--height", fix="pass either --size or both")
    if size is not None:
        width = height = size
    if width is None or height is None:
        raise ConfigError("the scene size is not set", fix="pass --size PX, or --width PX and --height PX")
    result = generate_event(
        out_dir,
        width=width,
        height=height,
        gsd_m=gsd_m,
        seed=seed,
        event=event,
        crs=crs,
        origin=origin,
        overwrite=overwrite,
    )
    counts = result.counts
    click.echo(
        f"{result.out_dir}: {width}x{height} px {event} scene, {counts['buildings']} buildings "
        f"({counts['buildings_lost']} lost), {counts['roads']} roads, "
        f"misregistration ({result.shift_px[0]:+.2f}, {result.shift_px[1]:+.2f}) px"
    )
