"""`geovision run`: the end-to-end job for a catalog event or for given pre/post images."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geovision import defaults
from geovision.cli.options import (
    aoi_option,
    bands_option,
    device_option,
    file_option,
    grid_options,
    model_option,
    overrides_option,
    overwrite_option,
    runtime_option,
    skip_post_option,
    value_option,
)

#: the flags that set a RunConfig field (applied when given on the command line; --config < flags < -o)
FLAG_FIELDS = {
    "model": ("--model", "segment.model"),
    "runtime": ("--runtime", "segment.runtime"),
    "device": ("--device", "segment.device"),
    "scheduler": ("--scheduler", "segment.scheduler"),
    "skip_post_without_features": ("--skip-post-without-features", "segment.skip_post_without_features"),
    "cell_px": ("--cell-px", "grid.cell_px"),
    "theta": ("--theta", "grid.theta"),  # both features
    "adapt_minutes": ("--adapt-minutes", "adapt.minutes"),
}


@click.command("run")
@click.argument("event", required=False)
@file_option("--pre", "Pre-event image (instead of EVENT).")
@file_option("--post", "Post-event image (instead of EVENT).")
@file_option("--census", "Census polygons with population counts.")
@value_option("--pop-field", "pop", "Population column of --census.")
@aoi_option
@bands_option
@click.option(
    "--event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date of the event (YYYY-MM-DD): the STAC datetime of the outputs. Default: the catalog's.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@model_option
@runtime_option
@device_option
@click.option("--scheduler", default=None, help="Dask scheduler for inference: local or tcp://host:port.")
@skip_post_option
@grid_options
@file_option("--catalog", "Event catalog (default: the catalog shipped with geovision).")
@click.option(
    "--name", default=None, help="Name of the run, the report's title (default: the event, or the --out folder's name)."
)
@file_option(
    "--adapt-with",
    "Map data of the place before the event (OpenStreetMap .osm/.pbf or any vector file, repeatable): "
    "first adapt the model to the pre image (`geovision adapt`), then run with it.",
    multiple=True,
)
@file_option("--adapt-area", "Polygon(s) where the --adapt-with labels are complete (default: their extent).")
@value_option(
    "--adapt-minutes", defaults.ADAPT_MINUTES, "Time budget of the adapt stage (CPU minutes, training and scoring)."
)
@overwrite_option("Start again, replacing a previous run in --out.")
@click.option(
    "--resume",
    is_flag=True,
    help="Accepted, and the default: a rerun into --out resumes, recomputing only what changed.",
)
@click.option("--json", "as_json", is_flag=True, help="End with the headline figures as JSON instead of a summary.")
@file_option(
    "--config",
    "YAML file of the run's configuration in sections (RunConfig: segment, grid, vectors, population, "
    "roads, adapt; e.g. `grid: {cell_px: 128}`); flags given here win.",
    "config_file",
)
@overrides_option("-o segment.chip_px=256 -o grid.theta.roads=0.2")
@click.option("--dry-run", is_flag=True, help="Print the resolved inputs and configuration as YAML, and stop.")
@click.pass_context
def command(
    ctx,
    event,
    pre,
    post,
    census,
    pop_field,
    aoi,
    bands,
    event_date,
    out_dir,
    model,
    runtime,
    device,
    scheduler,
    skip_post_without_features,
    cell_px,
    theta,
    catalog,
    name,
    adapt_with,
    adapt_area,
    adapt_minutes,
    overwrite,
    resume,
    as_json,
    config_file,
    overrides,
    dry_run,
) -> None:
    """Run every stage for EVENT (a name from data_catalog.yaml) or for --pre/--post; a rerun resumes."""
    from dataclasses import replace

    from click.core import ParameterSource

    from geovision.catalog import load_catalog
    from geovision.errors import ConfigError
    from geovision.pipeline.events import EventInputs, materialise
    from geovision.pipeline.run import run_pipeline
    from geovision.report.summary import summary_figures, summary_lines
    from geovision.runconfig import resolve_config

    if resume and overwrite:
        raise ConfigError(
            "--resume and --overwrite contradict each other",
            fix="give --resume to continue the run in --out, or --overwrite to start again",
        )
    if (event is None) == (pre is None or post is None):
        raise ConfigError(
            "give either an EVENT name or both --pre and --post",
            fix="e.g. `geovision run demo --out out/` or `geovision run --pre a.tif --post b.tif --out out/`",
        )
    flags = {
        flag: {field: ctx.params[param]}
        for param, (flag, field) in FLAG_FIELDS.items()
        if ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE
    }
    config = resolve_config(config=config_file, flags=flags, overrides=overrides)  # before preparing the event
    out = Path(out_dir)
    if aoi is not None:
        from geovision.io.aoi import load_aoi

        load_aoi(aoi)  # fail early on a missing or unusable AOI file
    quiet = (ctx.obj or {}).get("verbosity", 0) < 0

    def echo(text: str) -> None:  # stage lines; on stderr when stdout carries --json
        if not quiet:
            click.echo(text, err=as_json or dry_run)

    if event is not None:
        echo(f"preparing event `{event}` ...")
        inputs = materialise(event, load_catalog(catalog))
    else:
        inputs = EventInputs(
            name=out.resolve().name,
            pre=Path(pre),
            post=Path(post),
            census=Path(census) if census else None,
            census_pop_field=pop_field,
        )
    if name is not None:
        inputs = replace(inputs, name=name)
    if aoi is not None:
        inputs = replace(inputs, aoi=Path(aoi))
    if adapt_with:
        inputs = replace(
            inputs, adapt_labels=tuple(Path(p) for p in adapt_with), adapt_area=Path(adapt_area) if adapt_area else None
        )
    elif adapt_area:
        raise ConfigError("--adapt-area needs --adapt-with", fix="give the map data to adapt to with --adapt-with")
    if bands is not None:
        inputs = replace(inputs, bands=bands)
    if event_date is not None:
        inputs = replace(inputs, event_date=event_date.date().isoformat())
    if dry_run:
        import yaml

        resolved = {
            "inputs": json.loads(json.dumps(inputs.to_json(), default=str)),
            "out": str(out.resolve()),
            "config": config.model_dump(mode="json"),
        }
        click.echo(yaml.safe_dump(resolved, sort_keys=False), nl=False)
        return
    run = run_pipeline(inputs, out, config, overwrite=overwrite, echo=echo)
    record = run.record.document()
    figures = summary_figures(record, out)
    if as_json:
        click.echo(json.dumps(figures, indent=1, default=float))
    elif not quiet:
        skipped = [stage for stage, entry in record["stages"].items() if entry["status"] != "done"]
        if skipped:
            click.echo(f"not done: {', '.join(skipped)} (reasons above and in run.json)")
        click.echo("\n".join(summary_lines(figures)))
