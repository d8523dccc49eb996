"""`geovision population`: persons per cell from census units on buildings, or from a population raster."""

from __future__ import annotations

import click

from geovision import defaults
from geovision.cli.options import choice_option, file_option, overwrite_option, value_option


@click.command("population")
@file_option("--census", "Census polygons (any vector format, any CRS).")
@value_option("--pop-field", "pop", "Population column of --census.")
@file_option("--buildings", "Building mask (or building-count raster, see --buildings-are) to place people on.")
@choice_option("--buildings-are", ["mask", "count"], "mask")
@file_option("--pop-raster", "Existing population raster (WorldPop, HRSL, GHS-POP) instead of --census.")
@choice_option(
    "--weighting",
    ["pixel", "area"],
    defaults.POP_WEIGHTING,
    "pixel: same persons per building pixel (or counted building); area: by building area in m².",
)
@value_option("--res-m", 30.0, "Output resolution in metres (rounded to whole input pixels; 0 = the input grid).")
@click.option("--skip-missing-pop", is_flag=True, help="Units with a missing count get NaN instead of an error.")
@file_option("--zones-out", "Also write the zone of every input pixel (int32 COG) to check the totals.")
@file_option("--out", "Output COG (persons per pixel).", "out_path", required=True)
@overwrite_option("Replace existing outputs.")
def command(
    census: str | None,
    pop_field: str,
    buildings: str | None,
    buildings_are: str,
    pop_raster: str | None,
    weighting: str,
    res_m: float,
    skip_missing_pop: bool,
    zones_out: str | None,
    out_path: str,
    overwrite: bool,
) -> None:
    """Write a persons-per-pixel COG and, for census input, a per-unit CSV (``<out>_units.csv``)."""
    from pathlib import Path

    from geovision.errors import ConfigError
    from geovision.impact.population import population_raster

    if (census is None) == (pop_raster is None):
        raise ConfigError("give exactly one of --census and --pop-raster", fix="pass one population source")
    if census is not None and buildings is None:
        raise ConfigError(
            "--census needs --buildings to place people on",
            fix="pass --buildings MASK (a building mask or building-count raster)",
        )
    table = population_raster(
        out_path,
        census=census,
        pop_field=pop_field,
        buildings=buildings,
        buildings_are=buildings_are,
        pop_raster=pop_raster,
        weighting=weighting,
        res_m=res_m or None,
        skip_missing=skip_missing_pop,
        zones_path=zones_out,
        overwrite=overwrite,
    )
    if census is not None:
        from geovision.io.atomic import atomic_output

        csv_path = Path(out_path).with_name(Path(out_path).stem + "_units.csv")
        with atomic_output(csv_path, overwrite=overwrite) as tmp:
            table.drop(columns="geometry", errors="ignore").to_csv(tmp, index=False)
        click.echo(f"units: {csv_path}")
    flagged = int(table["fallback"].sum())
    click.echo(
        f"{table['allocated'].sum():.1f} persons in {len(table)} zones ({flagged} flagged: no buildings, "
        f"areal weighting or outside) -> {out_path}"
    )
