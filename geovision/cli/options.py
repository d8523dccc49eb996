"""Options shared by several commands."""

from __future__ import annotations

import click


def parse_bands(_ctx: click.Context | None, _param: click.Parameter | None, text: str | None) -> tuple[int, ...] | None:
    """``--bands 1,2,3`` -> (1, 2, 3) (a click callback); None when not given."""
    if not text:
        return None
    try:
        bands = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list of band numbers, e.g. 1,2,3", param_hint="--bands"
        ) from error
    if not bands or min(bands) < 1:
        raise click.BadParameter(f"{text!r}: band numbers start at 1", param_hint="--bands")
    return bands


bands_option = click.option(
    "--bands",
    default=None,
    callback=parse_bands,
    help="1-based bands to use, in the model's order, e.g. 3,2,1 (default: chosen from the file: colour "
    "interpretation or band descriptions; a single band is used for every model band; else the only 3 "
    "non-alpha bands).",
)
