"""Segment a whole scene: plan windows, predict batches (here or on Dask), assemble COG outputs.

Outputs in ``out_dir``: ``{task}_{date}_prob.tif`` (uint8, p x 254, nodata 255),
``{task}_{date}_mask.tif`` (uint8 0/1, nodata 255) for every task and date, and
``valid.tif``. Finished batches are kept in ``out_dir/.work`` until every output
is written, so a killed run resumes where it stopped (``resume=True``).
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from geovision.errors import BandCountError, OutputExistsError, OutputWriteError
from geovision.inference.batches import SegmentOptions, batch_groups, predict_batches
from geovision.inference.post_skip import DATES, SKIPPED_KEY
from geovision.inference.predictor import (
    MASK_NODATA,
    PROB_NODATA,
    PROB_SCALE,
    InferenceModel,
    ModelRef,
    load_model,
    runtime_for,
)
from geovision.inference.sources import SceneSource, SourceSpec
from geovision.inference.workstore import WorkStore
from geovision.io.cache import gdal_cache
from geovision.io.cog import MASK_COLORMAP
from geovision.io.windows import plan_windows
from geovision.models.bundle import GSD_TOLERANCE

log = logging.getLogger(__name__)


@dataclass
class SegmentResult:
    """What a run produced, and how long it took."""

    outputs: dict[str, Path]
    width: int
    height: int
    windows: int
    batches_run: int
    batches_resumed: int
    seconds_predict: float  # reading (prefetched in a thread) and the model, batch by batch
    seconds_write: float  # assembling the stored batches into the COG outputs
    seconds_total: float  # everything, model loading and planning included
    runtime: str
    extra: dict = field(default_factory=dict)


def output_names(tasks: Sequence[str], dates: Sequence[str]) -> list[str]:
    """The output file stems, in a fixed order."""
    names = [f"{task}_{date}_{kind}" for task in tasks for date in dates for kind in ("prob", "mask")]
    return names + ["valid"]


def open_for_model(spec: SourceSpec, model: InferenceModel) -> tuple[SourceSpec, SceneSource]:
    """Open ``spec``, checking its bands against ``model``; a pair far from the model's GSD is resampled to it.

    Models see objects at the scale they were trained at: a pair whose grid differs from the
    model's GSD by more than :data:`GSD_TOLERANCE` (e.g. 0.3 m imagery, 0.5 m model) is put on a
    grid at the model's GSD, unless ``spec.res_m`` asks for a resolution. Without ``spec.bands``,
    each image's bands are chosen for the model's band names from the file's metadata
    (:func:`geovision.io.bands.plan_bands`); the choice is logged at INFO. Returns the spec used.
    """
    if spec.model_bands is None:
        spec = replace(spec, model_bands=model.input_bands)
    source = spec.open()
    for date, plan in source.band_plans.items():
        if plan is not None:
            log.info("bands of %s (%s): %s", date, spec.post if date == "post" else spec.pre, plan.describe())
    if source.bands != model.bands:
        what = (
            f"--bands {','.join(map(str, spec.bands))} selects {source.bands} band(s)"
            if spec.bands
            else f"image has {source.bands} band(s)"
        )
        raise BandCountError(
            f"{what}, the model needs {model.bands}",
            path=source.path,
            fix=f"select {model.bands} bands in the model's order (e.g. --bands 1,2,3 for "
            "red, green, blue), or use a model trained on this imagery",
        )
    gsd, res = model.gsd_m, source.res_m
    if gsd and res and abs(res - gsd) > GSD_TOLERANCE * gsd:
        if spec.res_m is None and spec.post is not None:
            log.info("resampling the %.3g m pair to the model's %.3g m", res, gsd)
            spec = replace(spec, res_m=gsd)
            return spec, spec.open()
        if spec.res_m is None:
            warnings.warn(
                f"{source.path}: {res:.3g} m pixels, the model was trained at {gsd:.3g} m; "
                f"resample the image (gdalwarp -tr {gsd} {gsd}) for best results",
                UserWarning,
                stacklevel=2,
            )
    return spec, source


@gdal_cache()
def segment_scene(
    source_spec: SourceSpec,
    model_ref: ModelRef,
    out_dir: str | Path,
    *,
    options: SegmentOptions = SegmentOptions(),
    overwrite: bool = False,
    resume: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    show_progress: bool | None = None,
    restart_changed: bool = False,
) -> SegmentResult:
    """Segment every date of the scene into COG outputs in ``out_dir`` (see module docstring).

    ``resume`` reuses the stored batches of an interrupted run of the same inputs (by content)
    and options; when they changed it is an error, or, with ``restart_changed``, a fresh start.
    """
    options.check()
    options = options.resolved(model_ref.device)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    model = load_model(model_ref)
    source_spec, source = open_for_model(source_spec, model)
    if scheduler is None:
        runtime_for(model_ref, chip_px=options.chip_px, bands=source.bands)
    names = output_names(model.tasks, source.dates)
    outputs = {name: out_dir / f"{name}.tif" for name in names}
    store = WorkStore(out_dir / ".work")
    _check_outputs(outputs, store, overwrite=overwrite, resume=resume)

    windows = plan_windows(source.width, source.height, chip_px=options.chip_px, overlap_px=options.overlap_px)
    groups = batch_groups(len(windows), options.batch_windows)
    plan = {
        "source": asdict(source_spec),
        "content": input_hashes(source_spec),
        "model": model_ref.key,
        "options": asdict(options),
        "width": source.width,
        "height": source.height,
        "windows": len(windows),
        "outputs": names,
    }
    check_free_space(out_dir, width=source.width, height=source.height, outputs=len(names))
    out_dir.mkdir(parents=True, exist_ok=True)
    store.start(plan, resume=resume, restart_changed=restart_changed)
    skipping = options.skip_post_without_features and source.dates == DATES
    extra_keys = {SKIPPED_KEY} if skipping else set()
    todo = [
        b
        for b, group in enumerate(groups)
        if not store.is_done(b, {f"w{i}_{name}" for i in range(len(group)) for name in names} | extra_keys)
    ]
    log.info("%d windows in %d batches; %d to predict", len(windows), len(groups), len(todo))

    t_predict = time.perf_counter()
    if scheduler is None:
        predict_batches(source_spec, model_ref, options, str(store.root), todo, show_progress=show_progress)
    else:
        from geovision.inference.dask_backend import predict_on_dask

        predict_on_dask(
            source_spec, model_ref, options, str(store.root), todo, scheduler=scheduler, n_workers=n_workers
        )
    seconds_predict = time.perf_counter() - t_predict

    t_write = time.perf_counter()
    skipped = _assemble(
        store, windows, groups, names, outputs, source, overwrite=overwrite or resume, skipping=skipping
    )
    shutil.rmtree(store.root, ignore_errors=True)
    seconds_write = time.perf_counter() - t_write
    runtime_name = (
        model_ref.runtime if scheduler else runtime_for(model_ref, chip_px=options.chip_px, bands=source.bands)[0].name
    )
    return SegmentResult(
        outputs=outputs,
        width=source.width,
        height=source.height,
        windows=len(windows),
        batches_run=len(todo),
        batches_resumed=len(groups) - len(todo),
        seconds_predict=seconds_predict,
        seconds_write=seconds_write,
        seconds_total=time.perf_counter() - started,
        runtime=runtime_name,
        extra={
            "res_m": source.res_m,
            "bands": {date: plan.to_json() for date, plan in source.band_plans.items() if plan is not None},
            **({"post_windows_skipped": skipped} if skipping else {}),
        },
    )


def check_free_space(out_dir: Path, *, width: int, height: int, outputs: int) -> None:
    """Refuse to start when the disk cannot hold the job's work files (one uint8 byte per pixel and output)."""
    need = width * height * outputs
    existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < need:
        raise OutputWriteError(
            f"needs about {need / 1e9:.2f} GB of free space for its work files, {free / 1e9:.2f} GB is free",
            path=out_dir,
            fix="free disk space, choose another --out folder, or limit the job with --aoi",
        )


def input_hashes(spec: SourceSpec) -> dict[str, str]:
    """SHA-256 of each local input file of ``spec`` (images and AOI): the work store is keyed by content."""
    from geovision.io.hashing import file_sha256

    files = {"pre": spec.pre, "post": spec.post, "aoi": spec.aoi}
    return {name: file_sha256(path) for name, path in files.items() if path and Path(path).is_file()}


def _check_outputs(outputs: dict[str, Path], store: WorkStore, *, overwrite: bool, resume: bool) -> None:
    existing = [path for path in outputs.values() if path.exists()]
    if existing and not (overwrite or resume):
        raise OutputExistsError(
            f"{len(existing)} output(s) already exist, e.g. {existing[0].name}",
            path=existing[0].parent,
            fix="pass --overwrite to replace them or --resume to finish an interrupted run",
        )
    if store.exists() and not (overwrite or resume):
        raise OutputExistsError(
            "an interrupted run's work folder exists",
            path=store.root,
            fix="pass --resume to finish it, or --overwrite to start again",
        )


def _iter_stored(store: WorkStore, groups: list[list[int]]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    for batch_id, group in enumerate(groups):
        yield group, store.load(batch_id)


def band_description(name: str, *, skipping: bool = False) -> str:
    """What the band of output ``name`` (e.g. ``buildings_pre_prob``) holds, for its GDAL band description.

    ``skipping``: post windows without a pre-event feature were not predicted (they hold 0).
    """
    if name == "valid":
        return "valid: 1 = valid pre and post data"
    task, date, kind = name.rsplit("_", 2)
    note = "; 0 also where not predicted (no pre-event feature nearby)" if skipping and date == "post" else ""
    if kind == "prob":
        return (
            f"{task} probability ({date}-event): stored p x {PROB_SCALE} (scale 1/{PROB_SCALE}), "
            f"{PROB_NODATA} = nodata{note}"
        )
    return f"{task} mask ({date}-event): 1 = {task}, 0 = none, {MASK_NODATA} = nodata{note}"


def _assemble(store: WorkStore, windows, groups, names, outputs, source, *, overwrite: bool, skipping: bool) -> int:
    """Stream every stored crop into its COG output (one pass over the stored batches).

    Returns the number of post windows the model skipped (``skipping``), counted from the stored batches.
    """
    from geovision.io.cog import StreamingCogWriter

    with ExitStack() as stack:
        writers = {}
        for name in names:
            is_prob = name.endswith("_prob")
            nodata = None if name == "valid" else (PROB_NODATA if is_prob else MASK_NODATA)
            colormap = None if is_prob or name == "valid" else MASK_COLORMAP
            writers[name] = stack.enter_context(
                StreamingCogWriter(
                    outputs[name],
                    width=source.width,
                    height=source.height,
                    count=1,
                    dtype="uint8",
                    transform=source.transform,
                    crs=source.crs,
                    nodata=nodata,
                    kind="continuous" if is_prob else "mask",
                    overwrite=overwrite,
                    colormap=colormap,
                    level=1 if is_prob else None,
                    band_names=[band_description(name, skipping=skipping)],
                    scales=[1 / PROB_SCALE] if is_prob else None,
                    offsets=[0.0] if is_prob else None,
                )
            )
        skipped = 0
        for group, arrays in _iter_stored(store, groups):
            skipped += int(arrays[SKIPPED_KEY].sum()) if skipping else 0
            for i, window_index in enumerate(group):
                crop = windows[window_index].crop
                for name in names:
                    writers[name].write(crop, arrays[f"w{i}_{name}"][None])
    return skipped
