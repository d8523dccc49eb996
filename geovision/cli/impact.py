"""`geovision impact`: Disaster Impact Index grid from pre/post masks (+ evaluation, affected population, roads)."""

from __future__ import annotations

import json

import click

from geovision import defaults
from geovision.cli.options import choice_option, file_option, grid_options, overwrite_option, value_option


@click.command("impact")
@file_option("--pre-mask", "Feature mask/probabilities before.", required=True)
@file_option("--post-mask", "Feature mask/probabilities after.", required=True)
@file_option("--valid", "Optional valid-data mask (>0 = valid).", "valid_path")
@choice_option("--kind", ["buildings", "roads"], "buildings")
@grid_options
@click.option("--cell-m", type=float, help="Cell size in metres (overrides --cell-px).")
@value_option("--tau", defaults.TAU, "Pixels >= tau are features.")
@choice_option("--mean-over", ["all", "with_features"], "all", "Cells averaged in the DII denominator mean(f).")
@value_option(
    "--tolerance-px", 0, "Misregistration allowance: a feature is lost only if none is within this many pixels after."
)
@value_option("--min-valid-fraction", 0.5, "Cells with less valid coverage are nodata.")
@file_option("--truth", "Truly affected area (polygons, or a mask raster) for P/R/F1 and the PR curve.")
@value_option("--min-overlap", 0.5, "Share of a cell inside the truth area for the cell to count as truly affected.")
@click.option(
    "--exclude-mixed-cells",
    is_flag=True,
    help="Leave cells cut by the truth area's boundary (2-98 % inside) out of the scores.",
)
@file_option("--census", "Census polygons (any vector format, any CRS).")
@value_option("--pop-field", "pop", "Population column of --census.")
@file_option("--pop-raster", "Population raster instead of --census.")
@choice_option("--weighting", ["pixel", "area"], defaults.POP_WEIGHTING)
@choice_option(
    "--interval", ["model", "validation"], None, "Bootstrap 95 % interval of affected persons (docs/impact.md)."
)
@file_option(
    "--validation-sample", "CSV of per-cell pred,true[,quantity] from a labelled area (for --interval validation)."
)
@file_option("--road-lines", "Roads: given lines (e.g. OSM) instead of the pre mask's skeleton.")
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
