"""The declared stages of ``geovision run``, in order (:class:`~geovision.pipeline.stage.Stage`).

Each declares the input contents, RunConfig fields and upstream stages its result depends on; the
runner keys it by exactly those. A stage that cannot run (no model bundle, no census, no ground
truth) is recorded as ``skipped`` with the reason; nothing is made up in its place. Stages read
upstream outputs by name from the record (``run.record.output("segment", "valid")``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from geovision.errors import ModelBundleError
from geovision.pipeline.keys import DATES, file_key, model_key
from geovision.pipeline.reference_stage import reference
from geovision.pipeline.report_stage import report
from geovision.pipeline.stage import Run, Stage
from geovision.runrecord import StageRecord


def segment_source(run: Run):
    """The inference source of the segment stage: the pre/post pair with the run's AOI, bands and scaling."""
    from geovision.inference.sources import SourceSpec

    aoi = run.inputs.aoi
    return SourceSpec(
        pre=str(run.inputs.pre),
        post=str(run.inputs.post),
        aoi=str(aoi) if aoi else None,
        bands=run.inputs.bands,
        scaling=run.inputs.scaling,
    )


def upstream_masks(run: Run, task: str) -> dict[str, Path] | None:
    """The segment stage's pre/post masks of ``task`` by date (None when that stage did not make them)."""
    segment = run.record.stage("segment")
    if not segment.done:
        return None
    masks = {date: segment.output(f"{task}_{date}_mask") for date in DATES}
    return masks if all(path.exists() for path in masks.values()) else None


def requested_model(run: Run) -> str | None:
    """``segment.model`` as :func:`~geovision.models.registry.resolve_bundle` takes it (None: the shipped default)."""
    model = run.config.segment.model
    return None if model == "default" else model


def segment_bundle(run: Run) -> tuple[Path | None, str]:
    """The bundle the segment stage runs: the adapt stage's when it ran, else ``--model`` (and why none)."""
    from geovision.models.registry import resolve_bundle

    adapted = run.record.stage("adapt")
    if adapted.done:
        return adapted.output("bundle"), ""
    try:
        return resolve_bundle(requested_model(run)), ""
    except ModelBundleError as error:
        return None, f"no model bundle: {error.fix or error.message}"


# -- the stages ---------------------------------------------------------------------------------------------


def _inputs(run: Run, record: StageRecord) -> None:
    record.outputs = {
        key: str(value) for key, value in asdict(run.inputs).items() if isinstance(value, Path) and value.exists()
    }
    record.figures = {"sha256": run.hashes, "valid_share": run.valid_shares}


inputs = Stage("inputs", _inputs, inputs=lambda run: {"hashes": run.hashes}, doc="Record the inputs (paths, hashes).")


def _adapt_inputs(run: Run) -> dict[str, Any]:
    from geovision.models.registry import resolve_bundle

    labels, area = run.inputs.adapt_labels, run.inputs.adapt_area
    if not labels:
        return {}
    try:
        base = model_key(resolve_bundle(requested_model(run)))
    except ModelBundleError:
        base = run.config.segment.model
    return {
        "pre": run.hashes.get("pre"),
        "model": base,
        "labels": [file_key(p) for p in labels],
        "area": file_key(area),
    }


def _adapt(run: Run, record: StageRecord) -> None:
    """Fit the model to the pre image from map data (`run --adapt-with`); the segment stage then uses it."""
    labels, area = run.inputs.adapt_labels, run.inputs.adapt_area
    if not labels:
        record.status, record.reason = "skipped", "no map data to adapt to (run --adapt-with FILE)"
        return
    from geovision.adapt.run import AdaptOptions
    from geovision.adapt.run import adapt as adapt_model

    result = adapt_model(
        [str(run.inputs.pre)],
        [str(p) for p in labels],
        run.out / "model",
        model=run.config.segment.model,
        area=str(area) if area else None,
        overwrite=True,
        options=AdaptOptions(minutes=run.config.adapt.minutes),
    )
    record.outputs = {"bundle": str(result.out), "card": str(result.out / "MODEL_CARD.md")}
    record.figures = {"adapted": result.adapted, "before": result.base, "after": result.after, "steps": result.steps}


adapt = Stage("adapt", _adapt, inputs=_adapt_inputs, config=("adapt.minutes",), doc=_adapt.__doc__ or "")


def _segment_inputs(run: Run) -> dict[str, Any]:
    bundle, _ = segment_bundle(run)
    scaling = run.inputs.scaling
    return {
        "images": {date: run.hashes.get(date) for date in DATES},  # not the census: it does not change masks
        "model": model_key(bundle),
        "aoi": run.hashes.get("aoi"),
        "bands": list(run.inputs.bands) if run.inputs.bands else None,
        "scaling": asdict(scaling) if scaling else None,
    }


def _segment(run: Run, record: StageRecord) -> None:
    """Buildings and roads, pre and post (only within the AOI when given), through the shared-backbone model.

    The model is the adapt stage's bundle when that stage ran, else ``--model``.
    """
    bundle, reason = segment_bundle(run)
    if bundle is None:
        record.status, record.reason = "skipped", reason
        return
    from geovision.inference.engine import SegmentOptions, segment_scene
    from geovision.inference.predictor import bundle_ref

    options, out = run.config.segment, run.out / "masks"
    resume = (out / ".work" / "plan.json").exists()
    result = segment_scene(
        segment_source(run),
        bundle_ref(str(bundle), runtime=options.runtime, device=options.device),
        out,
        options=SegmentOptions(
            chip_px=options.chip_px,
            overlap_px=options.overlap_px,
            batch_windows=options.batch_windows,
            skip_post_without_features=options.skip_post_without_features,
        ),
        overwrite=not resume,
        resume=resume,
        restart_changed=True,
        scheduler=options.scheduler,
    )
    record.outputs = {name: str(path) for name, path in result.outputs.items()}
    record.figures = {
        "width_px": result.width,
        "height_px": result.height,
        "res_m": result.extra.get("res_m"),
        "windows": result.windows,
        "runtime": result.runtime,
        "seconds_predict": round(result.seconds_predict, 2),
        "bands": result.extra.get("bands", {}),
        "megapixels_per_s": round(2 * result.width * result.height / 1e6 / max(result.seconds_predict, 1e-9), 3),
    }
    if "post_windows_skipped" in result.extra:
        record.figures["post_windows_skipped"] = result.extra["post_windows_skipped"]


segment = Stage(
    "segment",
    _segment,
    inputs=_segment_inputs,
    config=("segment.chip_px", "segment.overlap_px", "segment.runtime", "segment.skip_post_without_features"),
    upstream=("adapt",),
    doc=_segment.__doc__ or "",
)


def _vectorize(run: Run, record: StageRecord) -> None:
    """Building polygons (with a lost flag) and road centre lines from the predicted masks."""
    buildings, roads = upstream_masks(run, "buildings"), upstream_masks(run, "roads")
    if buildings is None or roads is None:
        record.status, record.reason = "skipped", "no predicted masks (segment stage did not run)"
        return
    from geovision.pipeline.vectors import building_and_road_vectors

    masks = {
        f"{task}_{date}": paths[date] for task, paths in (("buildings", buildings), ("roads", roads)) for date in DATES
    }
    record.outputs, record.figures = building_and_road_vectors(
        masks, run.out / "vectors", tau=run.config.grid.tau, min_area_m2=run.config.vectors.min_building_m2
    )


vectorize = Stage(
    "vectorize",
    _vectorize,
    config=("vectors.min_building_m2", "grid.tau"),
    upstream=("segment",),
    doc=_vectorize.__doc__ or "",
)


def _impact_inputs(kind: str):
    def keys(run: Run) -> dict[str, Any]:
        if kind == "roads":
            return {"lines": file_key(run.config.roads.lines)}
        census = run.inputs.census is not None
        return {
            "truth": file_key(run.inputs.truth_affected_area),
            "census": run.hashes.get("census"),
            "census_kind": run.inputs.census_kind if census else None,
            "pop_field": run.inputs.census_pop_field if census else None,
        }

    return keys


def building_arguments(run: Run) -> dict[str, Any]:
    """What :func:`~geovision.impact.workflow.impact_stage` takes for buildings besides the grid: the
    truly affected area, and the census (polygons with ``pop_field``, or a population raster)."""
    truth = run.inputs.truth_affected_area
    arguments: dict[str, Any] = {"truth": truth if truth and Path(truth).exists() else None}
    census, population = run.inputs.census, run.config.population
    if census is None:
        return arguments
    if run.inputs.census_kind == "raster":
        arguments["pop_raster"] = census
    else:
        arguments.update(census=census, pop_field=run.inputs.census_pop_field)
    interval = None if population.interval == "none" else population.interval
    return arguments | {"weighting": population.weighting, "interval": interval}


def _impact(kind: str):
    def body(run: Run, record: StageRecord) -> None:
        masks = upstream_masks(run, kind)
        if masks is None:
            record.status, record.reason = "skipped", "no predicted masks (segment stage did not run)"
            return
        from geovision.impact.workflow import impact_stage

        grid = run.config.grid
        extra = building_arguments(run) if kind == "buildings" else {"road_lines": run.config.roads.lines}
        result = impact_stage(
            masks["pre"],
            masks["post"],
            run.out / "impact",
            kind=kind,
            valid=run.record.output("segment", "valid"),
            cell_px=grid.cell_px,
            tau=grid.tau,
            theta=getattr(grid.theta, kind),
            tolerance_px=grid.tolerance_px,
            overwrite=True,
            **extra,
        )
        record.outputs = {name: str(path) for name, path in result.paths.items()}
        record.figures = result.summary

    return body


GRID = ("grid.cell_px", "grid.tau", "grid.tolerance_px")
impact_buildings = Stage(
    "impact_buildings",
    _impact("buildings"),
    inputs=_impact_inputs("buildings"),
    config=(*GRID, "grid.theta.buildings", "population.weighting", "population.interval"),
    upstream=("segment",),
    doc="DII grid of buildings, with affected population when a census is given.",
)
impact_roads = Stage(
    "impact_roads",
    _impact("roads"),
    inputs=_impact_inputs("roads"),
    config=(*GRID, "grid.theta.roads"),  # roads.lines: keyed by the file's content (inputs)
    upstream=("segment",),
    doc="DII grid of roads and the damaged road lines.",
)


def _evaluate(run: Run, record: StageRecord) -> None:
    """Grid F1 of the predicted impacted cells against the reference (ground-truth DII) impacted cells."""
    predicted, truth = run.record.stage("impact_buildings"), run.record.stage("reference")
    if not (predicted.done and truth.done):
        record.status, record.reason = "skipped", "needs both predicted and reference DII grids"
        return
    from geovision.evaluate.grid import impacted_grid_f1

    record.figures = impacted_grid_f1(predicted.output("cog"), truth.output("cog"))


evaluate = Stage("evaluate", _evaluate, upstream=("impact_buildings", "reference"), doc=_evaluate.__doc__ or "")

STAGES: list[Stage] = [inputs, reference, adapt, segment, vectorize, impact_buildings, impact_roads, evaluate, report]
