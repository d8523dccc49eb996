"""The stages of ``geovision run``, in order. Each takes the :class:`~geovision.pipeline.run.Run`.

A stage that cannot run (no model bundle, no census, no ground truth) is recorded
as ``skipped`` with the reason; nothing is made up in its place.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from geovision.errors import GeovisionError, ModelBundleError
from geovision.pipeline import report_stage
from geovision.pipeline.run import Run, StageRecord

TASKS = ("buildings", "roads")


def _masks(run: Run) -> dict[str, Path]:
    folder = run.out / "masks"
    return {f"{task}_{date}": folder / f"{task}_{date}_mask.tif" for task in TASKS for date in ("pre", "post")}


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


def model_key(bundle: Path | None) -> str | None:
    """What identifies a bundle's weights: their SHA-256 (a bundle retrained in place is a new model), else its path."""
    if bundle is None:
        return None
    from geovision.models.bundle import read_meta

    try:
        return read_meta(bundle).weights_sha256 or str(bundle)
    except (GeovisionError, OSError, ValueError):  # an unreadable bundle fails in the stage, with its own error
        return str(bundle)


def file_key(path: Path | None) -> str | None:
    """A file's content hash (None when there is no such file)."""
    from geovision.io.hashing import file_sha256

    return file_sha256(path) if path is not None and Path(path).is_file() else None


def truth_key(folder: Path | None) -> dict[str, str] | None:
    """Content hashes of the ground-truth masks of an event (not their folder's path)."""
    from geovision.io.hashing import file_sha256

    if folder is None or not Path(folder).is_dir():
        return None
    names = (f"{task}_{date}.tif" for task in TASKS for date in ("pre", "post"))
    return {name: file_sha256(Path(folder) / name) for name in names if (Path(folder) / name).is_file()}


def adapt(run: Run) -> StageRecord:
    """Fit the model to the pre image from map data (`run --adapt-with`); the segment stage then uses it."""
    from geovision.io.hashing import file_sha256

    labels, area = run.inputs.adapt_labels, run.inputs.adapt_area
    depends = {
        "pre": run.hashes.get("pre"),
        "model": run.options.model,
        "minutes": run.options.adapt_minutes,
        "labels": [file_sha256(p) for p in labels],
        "area": file_sha256(area) if area else None,
    }

    def body(record: StageRecord) -> None:
        if not labels:
            record.status, record.reason = "skipped", "no map data to adapt to (run --adapt-with FILE)"
            return
        from geovision.adapt.run import AdaptOptions
        from geovision.adapt.run import adapt as adapt_model

        result = adapt_model(
            [str(run.inputs.pre)],
            [str(p) for p in labels],
            run.out / "model",
            model=run.options.model,
            area=str(area) if area else None,
            overwrite=True,
            options=AdaptOptions(minutes=run.options.adapt_minutes),
        )
        record.outputs = {"bundle": str(result.out), "card": str(result.out / "MODEL_CARD.md")}
        record.figures = {
            "adapted": result.adapted,
            "before": result.base,
            "after": result.after,
            "steps": result.steps,
        }

    return run.stage("adapt", depends, body)


def segment(run: Run) -> StageRecord:
    """Buildings and roads, pre and post (only within the AOI when given), through the shared-backbone model.

    The model is the adapt stage's bundle when that stage ran, else ``--model``.
    """
    from geovision.models.registry import resolve_bundle

    options = run.options
    adapted = run.stages.get("adapt")
    try:
        if adapted is not None and adapted.status == "done":
            bundle = Path(adapted.outputs["bundle"])
        else:
            bundle = resolve_bundle(None if options.model == "default" else options.model)
    except ModelBundleError as error:
        bundle, reason = None, f"no model bundle: {error.fix or error.message}"
    aoi, scaling = run.inputs.aoi, run.inputs.scaling
    images = {date: run.hashes.get(date) for date in ("pre", "post")}  # not the census: it does not change masks
    depends = {
        "images": images,
        "model": model_key(bundle),
        "adapt": adapted.key if adapted else None,
        "chip": options.chip_px,
        "overlap": options.overlap_px,
        "runtime": options.runtime,
        **({"aoi": run.hashes.get("aoi", str(aoi))} if aoi else {}),
        **({"bands": list(run.inputs.bands)} if run.inputs.bands else {}),
        **({"scaling": asdict(scaling)} if scaling else {}),
    }

    def body(record: StageRecord) -> None:
        if bundle is None:
            record.status, record.reason = "skipped", reason
            return
        from geovision.inference.engine import SegmentOptions, segment_scene
        from geovision.inference.predictor import bundle_ref

        out = run.out / "masks"
        resume = (out / ".work" / "plan.json").exists()
        result = segment_scene(
            segment_source(run),
            bundle_ref(str(bundle), runtime=options.runtime, device=options.device),
            out,
            options=SegmentOptions(
                chip_px=options.chip_px, overlap_px=options.overlap_px, batch_windows=options.batch_windows
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

    return run.stage("segment", depends, body)


def vectorize(run: Run) -> StageRecord:
    """Building polygons (with a lost flag) and road centre lines from the predicted masks."""
    masks = _masks(run)
    depends = {
        "masks": run.stages.get("segment", StageRecord("segment")).key,
        "min_m2": run.options.min_building_m2,
        "tau": run.options.tau,
    }

    def body(record: StageRecord) -> None:
        if not all(path.exists() for path in masks.values()):
            record.status, record.reason = "skipped", "no predicted masks (segment stage did not run)"
            return
        from geovision.pipeline.vectors import building_and_road_vectors

        record.outputs, record.figures = building_and_road_vectors(
            masks, run.out / "vectors", tau=run.options.tau, min_area_m2=run.options.min_building_m2
        )

    return run.stage("vectorize", depends, body)


def _impact(run: Run, kind: str) -> StageRecord:
    masks = _masks(run)
    theta = run.options.theta_buildings if kind == "buildings" else run.options.theta_roads
    truth = run.inputs.truth_affected_area if kind == "buildings" else None
    census = run.inputs.census if kind == "buildings" and run.inputs.census else None
    depends = {
        "masks": run.stages.get("segment", StageRecord("segment")).key,
        "cell_px": run.options.cell_px,
        "tau": run.options.tau,
        "theta": theta,
        "tolerance": run.options.tolerance_px,
        "truth": file_key(truth),
        "census": run.hashes.get("census"),
        "pop_field": run.inputs.census_pop_field if census else None,
    }

    def body(record: StageRecord) -> None:
        pre, post = masks[f"{kind}_pre"], masks[f"{kind}_post"]
        if not (pre.exists() and post.exists()):
            record.status, record.reason = "skipped", "no predicted masks (segment stage did not run)"
            return
        from geovision.impact.workflow import impact_stage

        result = impact_stage(
            pre,
            post,
            run.out / "impact",
            kind=kind,
            valid=run.out / "masks" / "valid.tif",
            cell_px=run.options.cell_px,
            tau=run.options.tau,
            theta=theta,
            tolerance_px=run.options.tolerance_px,
            truth=truth if truth and Path(truth).exists() else None,
            census=census,
            pop_field=run.inputs.census_pop_field,
            interval="model" if census is not None else None,
            overwrite=True,
        )
        record.outputs = {name: str(path) for name, path in result.paths.items()}
        record.figures = result.summary

    return run.stage(f"impact_{kind}", depends, body)


def impact_buildings(run: Run) -> StageRecord:
    """DII grid of buildings, with affected population when a census is given."""
    return _impact(run, "buildings")


def impact_roads(run: Run) -> StageRecord:
    """DII grid of roads and the damaged road lines."""
    return _impact(run, "roads")


def reference(run: Run) -> StageRecord:
    """DII of the ground-truth masks (when the event has them): the reference the predictions are scored on.

    With an AOI, the truth masks are first put on the segment stage's grid (the AOI's bounding
    box within the pre/post overlap), nodata outside the AOI's polygons.
    """
    folder = run.inputs.truth_masks
    truth = run.inputs.truth_affected_area
    aoi = run.inputs.aoi
    depends = {
        "truth": truth_key(folder),
        "area": file_key(truth),
        "cell_px": run.options.cell_px,
        "theta": run.options.theta_buildings,
    }
    if aoi:
        depends.update(aoi=run.hashes.get("aoi", str(aoi)), pre=run.hashes.get("pre"), post=run.hashes.get("post"))

    def body(record: StageRecord) -> None:
        if folder is None or not (Path(folder) / "buildings_pre.tif").exists():
            record.status, record.reason = "skipped", "the event has no ground-truth masks"
            return
        from geovision.impact.workflow import impact_stage

        masks = [Path(folder) / "buildings_pre.tif", Path(folder) / "buildings_post.tif"]
        if aoi:
            from geovision.io.align import align_pair, warp_to_grid
            from geovision.io.bands import RGB

            # only the grid is used: any band choice that fits both dates (e.g. a pan pre, a 4-band post) will do
            with align_pair(run.inputs.pre, run.inputs.post, aoi=aoi, bands=run.inputs.bands, model_bands=RGB) as pair:
                masks = [
                    warp_to_grid(
                        mask, pair.grid, run.out / "reference" / f"truth_{mask.name}", aoi=pair.aoi, overwrite=True
                    )
                    for mask in masks
                ]
        result = impact_stage(
            masks[0],
            masks[1],
            run.out / "reference",
            kind="buildings",
            cell_px=run.options.cell_px,
            tau=0.5,
            theta=run.options.theta_buildings,
            truth=truth if truth and Path(truth).exists() else None,
            overwrite=True,
        )
        record.outputs = {name: str(path) for name, path in result.paths.items()}
        record.figures = result.summary

    return run.stage("reference", depends, body)


def evaluate(run: Run) -> StageRecord:
    """Grid F1 of the predicted impacted cells against the reference (ground-truth DII) impacted cells."""
    predicted = run.stages.get("impact_buildings")
    truth = run.stages.get("reference")
    depends = {"pred": predicted.key if predicted else None, "truth": truth.key if truth else None}

    def body(record: StageRecord) -> None:
        if not (predicted and truth and predicted.status == "done" and truth.status == "done"):
            record.status, record.reason = "skipped", "needs both predicted and reference DII grids"
            return
        from geovision.pipeline.scoring import impacted_grid_f1

        record.figures = impacted_grid_f1(Path(predicted.outputs["cog"]), Path(truth.outputs["cog"]))

    return run.stage("evaluate", depends, body)


def inputs(run: Run) -> StageRecord:
    """Record the inputs (paths, hashes, licence)."""

    def body(record: StageRecord) -> None:
        record.outputs = {
            key: str(value) for key, value in asdict(run.inputs).items() if isinstance(value, Path) and value.exists()
        }
        record.figures = {"sha256": run.hashes, "valid_share": run.valid_shares}

    return run.stage("inputs", {"hashes": run.hashes}, body)


STAGES = [
    ("inputs", inputs),
    ("reference", reference),
    ("adapt", adapt),
    ("segment", segment),
    ("vectorize", vectorize),
    ("impact_buildings", impact_buildings),
    ("impact_roads", impact_roads),
    ("evaluate", evaluate),
    ("report", report_stage.report),
]
