"""`geovision adapt`: fine-tune the model on the event's own imagery from existing map data."""

from __future__ import annotations

import click

from geovision import defaults
from geovision.cli.options import file_option, overwrite_option, value_option


@click.command("adapt")
@click.argument("event", required=False)
@file_option("--pre", "Pre-event GeoTIFF (repeatable); default: the EVENT's pre image.", "pre_paths", multiple=True)
@file_option(
    "--labels",
    "Map data (repeatable): OpenStreetMap .osm/.osm.pbf, or any vector file of building polygons "
    "and/or road lines (GeoPackage, GeoJSON, Shapefile, CSV with WKT), in any CRS.",
    "label_paths",
    multiple=True,
    required=True,
)
@file_option("--area", "Polygon(s) where the labels are complete (default: the labels' extent).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of the adapted model bundle (use it with --model).",
)
@value_option("--model", defaults.MODEL, "The bundle to start from (name or folder).")
@value_option(
    "--minutes",
    defaults.ADAPT_MINUTES,
    "Time budget, training and evaluation together.",
    type=click.FloatRange(min=0.5),
)
@value_option(
    "--block-m",
    64.0,
    "Side of the square blocks the area is split into (1 in 4 is held out for validation).",
    type=click.FloatRange(min=8.0),
)
@click.option("--licence", default=None, help="Licence of the labels (default: ODbL for OpenStreetMap exports).")
@overwrite_option("Replace an existing output folder.")
def command(event, pre_paths, label_paths, area, out_dir, model, minutes, block_m, licence, overwrite) -> None:
    """Fit MODEL to EVENT's imagery (or --pre images) from map data; keep it only where it is better.

    A quarter of the labelled area (square blocks, never random pixels) is held out; the base and the
    adapted models are scored there through the production engine and the better one is written to
    --out, with a model card recording the base, the labels and their licence, the area, the budget
    and both scores.
    """
    from geovision.adapt.run import AdaptOptions, adapt
    from geovision.errors import ConfigError

    if event and pre_paths:
        raise ConfigError("give EVENT or --pre, not both", fix="drop one of them")
    if not event and not pre_paths:
        raise ConfigError("no imagery: give an EVENT of the catalog or --pre PRE.tif", fix="add --pre PRE.tif")
    if event:
        from geovision.pipeline.events import materialise

        pre_paths = (str(materialise(event).pre),)
    result = adapt(
        list(pre_paths),
        list(label_paths),
        out_dir,
        model=model,
        area=area,
        overwrite=overwrite,
        options=AdaptOptions(minutes=minutes, block_m=block_m, licence=licence),
    )
    scores = ", ".join(f"{k} {result.base[k]:.3f} -> {result.after[k]:.3f}" for k in result.base)
    verdict = "adapted model written" if result.adapted else "kept the base model (the adapted one was not better)"
    click.echo(f"{verdict}: {result.out}  [{scores}; {result.steps} steps, {result.seconds / 60:.1f} min]")
