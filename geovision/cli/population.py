"""`geovision population`: persons per cell from census units on buildings, or from a population raster."""

from __future__ import annotations

import click

from geovision.cli.options import overwrite_option


@click.command("population")
@click.option("--census", type=click.Path(dir_okay=False), help="Census polygons (any vector format, any CRS).")
@click.option("--pop-field", default="pop", show_default=True, help="Population column of --census.")
@click.option(
    "--buildings",
    type=click.Path(dir_okay=False),
    help="Building mask (or building-count raster, see --buildings-are) to place people on.",
)
@click.option("--buildings-are", type=click.Choice(["mask", "count"]), default="mask", show_default=True)
@click.option(
    "--pop-raster",
    type=click.Path(dir_okay=False),
    help="Existing population raster (WorldPop, HRSL, GHS-POP) instead of --census.",
)
@click.option(
    "--weighting",
    type=click.Choice(["pixel", "area"]),
    default="pixel",
    show_default=True,
    help="pixel: same persons per building pixel (or counted building); area: by building area in m².",
)
@click.option(
    "--res-m",
    type=float,
    default=30.0,
    show_default=True,
    help="Output resolution in metres (rounded to whole input pixels; 0 = the input grid).",
)
@click.option("--skip-missing-pop", is_flag=True, help="Units with a missing count get NaN instead of an error.")
@click.option(
    "--zones-out",
    type=click.Path(dir_okay=False),
    help="Also write the zone of every input pixel (int32 COG) to check the totals.",
)
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output COG (persons per pixel)."
)
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
