"""`geovision impact`: Disaster Impact Index grid from pre/post masks (+ evaluation, affected population, roads)."""

from __future__ import annotations

import json

import click

from geovision import defaults
from geovision.cli.options import grid_options, overwrite_option


@click.command("impact")
@click.option("--pre-mask", required=True, type=click.Path(dir_okay=False), help="Feature mask/probabilities before.")
@click.option("--post-mask", required=True, type=click.Path(dir_okay=False), help="Feature mask/probabilities after.")
@click.option("--valid", "valid_path", type=click.Path(dir_okay=False), help="Optional valid-data mask (>0 = valid).")
@click.option("--kind", type=click.Choice(["buildings", "roads"]), default="buildings", show_default=True)
@grid_options
@click.option("--cell-m", type=float, help="Cell size in metres (overrides --cell-px).")
@click.option("--tau", type=float, default=defaults.TAU, show_default=True, help="Pixels >= tau are features.")
@click.option(
    "--mean-over",
    type=click.Choice(["all", "with_features"]),
    default="all",
    show_default=True,
    help="Cells averaged in the DII denominator mean(f).",
)
@click.option(
    "--tolerance-px",
    type=int,
    default=0,
    show_default=True,
    help="Misregistration allowance: a feature is lost only if none is within this many pixels after.",
)
@click.option(
    "--min-valid-fraction",
    type=float,
    default=0.5,
    show_default=True,
    help="Cells with less valid coverage are nodata.",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False),
    help="Truly affected area (polygons, or a mask raster) for P/R/F1 and the PR curve.",
)
@click.option(
    "--min-overlap",
    type=float,
    default=0.5,
    show_default=True,
    help="Share of a cell inside the truth area for the cell to count as truly affected.",
)
@click.option(
    "--exclude-mixed-cells",
    is_flag=True,
    help="Leave cells cut by the truth area's boundary (2-98 % inside) out of the scores.",
)
@click.option("--census", type=click.Path(dir_okay=False), help="Census polygons (any vector format, any CRS).")
@click.option("--pop-field", default="pop", show_default=True, help="Population column of --census.")
@click.option("--pop-raster", type=click.Path(dir_okay=False), help="Population raster instead of --census.")
@click.option("--weighting", type=click.Choice(["pixel", "area"]), default="pixel", show_default=True)
@click.option(
    "--interval",
    type=click.Choice(["model", "validation"]),
    help="Bootstrap 95 % interval of affected persons (docs/impact.md).",
)
@click.option(
    "--validation-sample",
    type=click.Path(dir_okay=False),
    help="CSV of per-cell pred,true[,quantity] from a labelled area (for --interval validation).",
)
@click.option(
    "--road-lines",
    type=click.Path(dir_okay=False),
    help="Roads: given lines (e.g. OSM) instead of the pre mask's skeleton.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@overwrite_option("Replace existing outputs.")
def command(
    pre_mask: str,
    post_mask: str,
    valid_path: str | None,
    kind: str,
    cell_px: int,
    cell_m: float | None,
    tau: float,
    theta: float,
    mean_over: str,
    tolerance_px: int,
    min_valid_fraction: float,
    truth: str | None,
    min_overlap: float,
    exclude_mixed_cells: bool,
    census: str | None,
    pop_field: str,
    pop_raster: str | None,
    weighting: str,
    interval: str | None,
    validation_sample: str | None,
    road_lines: str | None,
    out_dir: str,
    overwrite: bool,
) -> None:
    """Write the DII grid as a COG, GeoPackage and GeoJSON (and more with --truth/--census/--kind roads)."""
    from geovision.errors import ConfigError
    from geovision.impact.workflow import impact_stage

    if census is not None and pop_raster is not None:
        raise ConfigError("--census and --pop-raster are exclusive", fix="give one population source")
    outputs = impact_stage(
        pre_mask,
        post_mask,
        out_dir,
        kind=kind,
        valid=valid_path,
        cell_px=cell_px,
        cell_m=cell_m,
        tau=tau,
        theta=theta,
        mean_over=mean_over,
        tolerance_px=tolerance_px,
        min_valid_fraction=min_valid_fraction,
        truth=truth,
        min_overlap=min_overlap,
        exclude_mixed=exclude_mixed_cells,
        census=census,
        pop_field=pop_field,
        pop_raster=pop_raster,
        weighting=weighting,
        interval=interval,
        validation_sample=validation_sample,
        road_lines=road_lines,
        overwrite=overwrite,
    )
    click.echo(json.dumps(outputs.summary, indent=2, default=float))
    for name, path in outputs.paths.items():
        click.echo(f"{name}: {path}")
