"""`geovision run`: the end-to-end job for a catalog event or for given pre/post images."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geovision import defaults
from geovision.cli.options import bands_option, grid_options, overwrite_option
from geovision.types import RUNTIMES

#: the flags that set a RunConfig field (applied when given on the command line; --config < flags < -o)
FLAG_FIELDS = {
    "model": ("--model", "segment.model"),
    "runtime": ("--runtime", "segment.runtime"),
    "device": ("--device", "segment.device"),
    "scheduler": ("--scheduler", "segment.scheduler"),
    "cell_px": ("--cell-px", "grid.cell_px"),
    "theta": ("--theta", "grid.theta"),  # both features
    "adapt_minutes": ("--adapt-minutes", "adapt.minutes"),
}


@click.command("run")
@click.argument("event", required=False)
@click.option("--pre", type=click.Path(dir_okay=False), help="Pre-event image (instead of EVENT).")
@click.option("--post", type=click.Path(dir_okay=False), help="Post-event image (instead of EVENT).")
@click.option("--census", type=click.Path(dir_okay=False), help="Census polygons with population counts.")
@click.option("--pop-field", default="pop", show_default=True, help="Population column of --census.")
@click.option(
    "--aoi",
    type=click.Path(dir_okay=False),
    default=None,
    help="Area of interest: a polygon vector file (any CRS); the whole job covers only it.",
)
@bands_option
@click.option(
    "--event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date of the event (YYYY-MM-DD): the STAC datetime of the outputs. Default: the catalog's.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--model",
    default=defaults.MODEL,
    show_default=True,
    help="Model bundle folder, or a shipped model: default (= fast), unet (slower, the teacher).",
)
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="auto",
    show_default=True,
    help="Inference precision/engine: auto picks bf16 on a capable CPU/GPU, else fp32.",
)
@click.option("--device", default="auto", show_default=True, help="Torch device: auto, cpu, cuda or cuda:N.")
@click.option("--scheduler", default=None, help="Dask scheduler for inference: local or tcp://host:port.")
@grid_options
@click.option("--catalog", type=click.Path(dir_okay=False), default=None, help="Event catalog (data_catalog.yaml).")
@click.option(
    "--name", default=None, help="Name of the run, the report's title (default: the event, or the --out folder's name)."
)
@click.option(
    "--adapt-with",
    "adapt_with",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Map data of the place before the event (OpenStreetMap .osm/.pbf or any vector file, repeatable): "
    "first adapt the model to the pre image (`geovision adapt`), then run with it.",
)
@click.option(
    "--adapt-area",
    type=click.Path(dir_okay=False),
    default=None,
    help="Polygon(s) where the --adapt-with labels are complete (default: their extent).",
)
@click.option(
    "--adapt-minutes",
    type=float,
    default=defaults.ADAPT_MINUTES,
    show_default=True,
    help="Time budget of the adapt stage (CPU minutes, training and scoring).",
)
@overwrite_option("Start again, replacing a previous run in --out.")
@click.option(
    "--resume",
    is_flag=True,
    help="Accepted, and the default: a rerun into --out resumes, recomputing only what changed.",
)
@click.option("--json", "as_json", is_flag=True, help="End with the headline figures as JSON instead of a summary.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML file of the run's configuration in sections (RunConfig: segment, grid, vectors, population, "
    "roads, adapt; e.g. `grid: {cell_px: 128}`); flags given here win.",
)
@click.option(
    "-o",
    "--option",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Set any field of the configuration, e.g. -o segment.chip_px=256 -o grid.theta.roads=0.2 "
    "(repeatable; wins over --config and flags).",
)
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
