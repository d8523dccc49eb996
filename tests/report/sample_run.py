"""Seeded run folders for the report tests and notebooks (no model: truth masks stand in for predictions).

``full_run`` has every stage done: the synthetic event's ground-truth masks are copied
into ``masks/`` as if the segment stage had predicted them, then vectorize, impact,
evaluate and report run as in ``geovision run``. ``reference_run`` is what the demo gives
without a model: only the reference (ground-truth DII) stage, then the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import rasterio

from geovision.io.cog import write_cog
from geovision.pipeline import stages
from geovision.pipeline.events import EventInputs
from geovision.pipeline.report_stage import report
from geovision.pipeline.run import Run, RunConfig, StageRecord
from geovision.synth.generate import generate_event

SIZE_PX = 1024
CELL_PX = 128


def sample_event(folder: Path) -> EventInputs:
    """A seeded 1024 px synthetic tornado with census and ground truth (generated once per folder)."""
    if not (folder / "event.json").exists():
        generate_event(
            folder, width=SIZE_PX, height=SIZE_PX, gsd_m=0.5, seed=7, event="tornado", crs="EPSG:32615", overwrite=True
        )
    return EventInputs(
        name="sample",
        pre=folder / "pre.tif",
        post=folder / "post.tif",
        census=folder / "census.gpkg",
        truth_buildings=folder / "buildings.gpkg",
        truth_affected_area=folder / "affected_area.gpkg",
        truth_roads=folder / "roads.gpkg",
        truth_masks=folder,
        licence="CC0-1.0 (generated)",
    )


def _truth_as_predictions(run: Run) -> None:
    event, masks = Path(run.inputs.truth_masks), run.out / "masks"
    masks.mkdir(parents=True, exist_ok=True)
    for task in ("buildings", "roads"):
        for date in ("pre", "post"):
            for kind in ("mask", "prob"):
                shutil.copyfile(event / f"{task}_{date}.tif", masks / f"{task}_{date}_{kind}.tif")
    with rasterio.open(event / "buildings_pre.tif") as src:
        write_cog(
            masks / "valid.tif",
            np.ones((src.height, src.width), np.uint8),
            transform=src.transform,
            crs=src.crs,
            nodata=None,
            kind="mask",
            overwrite=True,
        )
    run.stages["segment"] = StageRecord(
        name="segment",
        status="done",
        reason="ground truth used as the prediction",
        outputs={p.stem: str(p) for p in sorted(masks.glob("*.tif"))},
        key="truth-as-prediction",
    )


def _build(root: Path, name: str, fill) -> Path:
    """Run ``fill(run)`` into ``root/name`` once (reused while its report exists), then the report stage."""
    out = root / name
    if (out / "report.html").exists():
        return out
    run = Run(sample_event(root / "event"), out, RunConfig(grid={"cell_px": CELL_PX}), overwrite=True)
    stages.inputs(run)
    stages.reference(run)
    fill(run)
    report(run)
    run.save(complete=True)
    return out


def _predict_from_truth(run: Run) -> None:
    _truth_as_predictions(run)
    for stage in (stages.vectorize, stages.impact_buildings, stages.impact_roads, stages.evaluate):
        stage(run)


def _skip_model_stages(run: Run) -> None:
    for name in ("segment", "vectorize", "impact_buildings", "impact_roads", "evaluate"):
        run.stages[name] = StageRecord(name=name, status="skipped", reason="no model bundle (test)")


def full_run(root: Path) -> Path:
    """A run folder with every stage done and the report written (built once under ``root``)."""
    return _build(root, "full", _predict_from_truth)


def reference_run(root: Path) -> Path:
    """A run folder as the demo gives without a model: reference DII only, then the report."""
    return _build(root, "reference", _skip_model_stages)
