"""`geovision vectorize`: building polygons or road centrelines from a mask raster."""

from __future__ import annotations

import click

from geovision import defaults
from geovision.cli.options import file_option, overwrite_option, value_option


@click.command("vectorize")
@file_option("--mask", "Mask or probability GeoTIFF (band 1).", "mask_path", required=True)
@click.option("--kind", type=click.Choice(["buildings", "roads"]), required=True, help="What the mask shows.")
@file_option("--out", "Output .gpkg or .geojson (RFC 7946, EPSG:4326).", "out_path", required=True)
@value_option("--tau", defaults.TAU, "Pixels >= tau are features.")
@value_option("--min-area-m2", 4.0, "Buildings: drop polygons smaller than this (m², computed in a metric CRS).")
@value_option("--simplify-m", 0.0, "Simplification tolerance in metres (0 = keep the pixel outline).")
@value_option(
    "--regularize/--no-regularize", False, "Buildings: make nearly rectangular footprints rectangles.", type=None
)
@value_option("--min-spur-m", 5.0, "Roads: prune dead-end branches shorter than this (skeleton hairs).")
@overwrite_option("Replace an existing output.")
def command(
    mask_path: str,
    kind: str,
    out_path: str,
    tau: float,
    min_area_m2: float,
    simplify_m: float,
    regularize: bool,
    min_spur_m: float,
    overwrite: bool,
) -> None:
    """Polygonise a building mask, or trace a road mask's centreline graph, into a vector file."""
    from geovision.io.atomic import check_output
    from geovision.io.vectors import write_vectors

    check_output(out_path, overwrite=overwrite)
    if kind == "buildings":
        from geovision.vector.polygons import polygonize_raster

        frame = polygonize_raster(
            mask_path, tau=tau, min_area_m2=min_area_m2, simplify_m=simplify_m, regularize_shapes=regularize
        )
    else:
        from geovision.vector.road_raster import road_lines_from_raster

        frame = road_lines_from_raster(mask_path, tau=tau, min_spur_m=min_spur_m, simplify_m=simplify_m)
    write_vectors(frame, out_path, overwrite=overwrite)
    click.echo(f"{len(frame)} {'polygons' if kind == 'buildings' else 'lines'} -> {out_path}")
