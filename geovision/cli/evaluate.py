"""``geovision evaluate``: score predictions the way the field does, print a table, write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

TASK_HELP = ("buildings: masks -> pixel IoU/F1, footprints -> SpaceNet object F1; "
             "roads: masks -> pixel IoU/F1, centrelines -> APLS + relaxed F1; "
             "damage: 0-4 masks -> xView2 score; dii: impacted grids -> cell F1")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


@click.command("evaluate", help=f"Score a prediction against ground truth. {TASK_HELP}.")
@click.option("--task", type=click.Choice(["buildings", "roads", "damage", "dii"]), required=True)
@click.option("--pred", "pred", type=click.Path(path_type=Path), required=True,
              help="Prediction file, or folder of files named like the truth files.")
@click.option("--truth", "truth", type=click.Path(path_type=Path), required=True,
              help="Ground-truth file or folder.")
@click.option("--json-out", type=click.Path(path_type=Path), default=None, help="Write all metrics as JSON here.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --json-out file.")
@click.option("--image", type=click.Path(path_type=Path), default=None,
              help="Georeferenced raster that pixel coordinates (CSV *_Pix WKT) refer to.")
@click.option("--image-id", default=None, help="Score only this ImageId of CSV inputs.")
@click.option("--iou-threshold", type=float, default=0.5, show_default=True, help="Object match IoU (buildings).")
@click.option("--min-area", "min_area_m2", type=float, default=0.0, show_default=True,
              help="Drop footprints smaller than this many m² (buildings).")
@click.option("--snap-m", "max_snap_dist_m", type=float, default=4.0, show_default=True,
              help="APLS node snapping distance in metres (roads).")
@click.option("--buffer-m", type=float, default=3.0, show_default=True, help="Relaxed F1 buffer in metres (roads).")
@click.option("--threshold", "pred_threshold", type=float, default=None,
              help="Prediction positive when >= this (probability rasters, DII values); default: non-zero.")
@click.option("--truth-threshold", type=float, default=None, help="Truth positive when >= this; default: non-zero.")
@click.option("--localization", type=click.Path(path_type=Path), default=None,
              help="Separate predicted building mask for the damage task.")
@click.option("--column", default=None, help="Column of vector DII grids (default: impacted, or dii with --threshold).")
def command(task: str, pred: Path, truth: Path, json_out: Path | None, overwrite: bool, **options) -> None:
    from geovision.evaluate.tasks import Options, evaluate, summary_rows
    from geovision.io.atomic import atomic_output, check_output

    if json_out is not None:
        check_output(json_out, overwrite=overwrite)
    result = evaluate(task, pred, truth, Options(**options))
    rows = summary_rows(result)
    width = max(len(name) for name, _ in rows)
    click.echo(f"{task} ({result['input']}): {pred} vs {truth}")
    for name, value in rows:
        click.echo(f"  {name:<{width}}  {_format(value)}")
    if json_out is not None:
        with atomic_output(json_out, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
        click.echo(f"wrote {json_out}")
