"""``geovision evaluate``: score predictions the way the field does, print a table, write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geovision.cli.options import overwrite_option

TASK_HELP = (
    "buildings: masks -> pixel IoU/F1, footprints -> SpaceNet object F1; "
    "roads: masks -> pixel IoU/F1, centrelines or JSON road graphs (*.json with nodes x/y and "
    "edges u/v/length/geometry, e.g. SpaceNet 3's graph exports) -> APLS + relaxed F1; "
    "damage: 0-4 masks -> xView2 score; dii: impacted grids -> cell F1"
)
CHALLENGE_HELP = (
    "Score exactly as a challenge's reference scorer. spacenet2 (--task buildings): SpaceNet CSVs "
    "(ImageId, BuildingId, PolygonWKT_Pix, Confidence), truth footprints under --min-area-px pixels "
    "dropped (predictions at or under it too), predictions matched in decreasing Confidence at IoU > 0.5, "
    "results per AOI (the ImageId without its last _part, AOI_2_Vegas_img12 -> AOI_2_Vegas) and overall, "
    "as solaris' SN2 table. spacenet3 (--task roads): graphs built from lines as CosmiQ's apls.py builds "
    "them (great-circle lengths, both copies of a segment two lines share deleted); JSON graphs are used as given."
)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


@click.command("evaluate", help=f"Score a prediction against ground truth. {TASK_HELP}.")
@click.option("--task", type=click.Choice(["buildings", "roads", "damage", "dii"]), required=True)
@click.option(
    "--pred",
    "pred",
    type=click.Path(path_type=Path),
    required=True,
    help="Prediction file, or folder of files named like the truth files.",
)
@click.option("--truth", "truth", type=click.Path(path_type=Path), required=True, help="Ground-truth file or folder.")
@click.option("--json-out", type=click.Path(path_type=Path), default=None, help="Write all metrics as JSON here.")
@overwrite_option("Replace an existing --json-out file.")
@click.option(
    "--image",
    type=click.Path(path_type=Path),
    default=None,
    help="Georeferenced raster that pixel coordinates (CSV *_Pix WKT) refer to.",
)
@click.option("--image-id", default=None, help="Score only this ImageId of CSV inputs.")
@click.option("--iou-threshold", type=float, default=0.5, show_default=True, help="Object match IoU (buildings).")
@click.option(
    "--min-area",
    "min_area_m2",
    type=float,
    default=0.0,
    show_default=True,
    help="Drop footprints smaller than this many m² (buildings).",
)
@click.option("--challenge", type=click.Choice(["spacenet2", "spacenet3"]), default=None, help=CHALLENGE_HELP)
@click.option(
    "--min-area-px",
    type=float,
    default=None,
    help="SpaceNet 2 rule (--challenge spacenet2): drop truth footprints under this many pixels [default: 20].",
)
@click.option(
    "--snap-m",
    "max_snap_dist_m",
    type=float,
    default=4.0,
    show_default=True,
    help="APLS node snapping distance in metres (roads; CosmiQ max_snap_dist).",
)
@click.option(
    "--midpoint-spacing-m",
    type=float,
    default=None,
    help="APLS control points every this many metres on long curved edges (CosmiQ linestring_delta) "
    "[default: 200, the SpaceNet 3 reference run's].",
)
@click.option(
    "--curvature-eps",
    type=float,
    default=None,
    help="APLS: edges this curved or more get control points; negative: every long edge "
    "(CosmiQ is_curved_eps) [default: 0.12, the reference run's].",
)
@click.option(
    "--min-path-length-m",
    type=float,
    default=None,
    help="APLS: shorter paths are not compared (CosmiQ min_path_length) [default: 0.001]. "
    "The reference files' 'hole' is TOPO's hole size; it does not enter APLS.",
)
@click.option("--buffer-m", type=float, default=3.0, show_default=True, help="Relaxed F1 buffer in metres (roads).")
@click.option(
    "--threshold",
    "pred_threshold",
    type=float,
    default=None,
    help="Prediction positive when >= this (probability rasters, DII values); default: non-zero.",
)
@click.option("--truth-threshold", type=float, default=None, help="Truth positive when >= this; default: non-zero.")
@click.option(
    "--localization",
    type=click.Path(path_type=Path),
    default=None,
    help="Separate predicted building mask for the damage task.",
)
@click.option("--column", default=None, help="Column of vector DII grids (default: impacted, or dii with --threshold).")
def command(task: str, pred: Path, truth: Path, json_out: Path | None, overwrite: bool, **options) -> None:
    from geovision.evaluate.tasks import Options, evaluate, summary_rows
    from geovision.io.atomic import atomic_output, check_output

    if options["min_area_px"] is not None and options["challenge"] != "spacenet2":
        raise click.UsageError("--min-area-px is the SpaceNet 2 rule: give it with --challenge spacenet2")
    if json_out is not None:
        check_output(json_out, overwrite=overwrite)
    result = evaluate(task, pred, truth, Options(**{k: v for k, v in options.items() if v is not None}))
    rows = summary_rows(result)
    width = max(len(name) for name, _ in rows)
    click.echo(f"{task} ({result['input']}): {pred} vs {truth}")
    for name, value in rows:
        click.echo(f"  {name:<{width}}  {_format(value)}")
    if json_out is not None:
        with atomic_output(json_out, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
        click.echo(f"wrote {json_out}")
