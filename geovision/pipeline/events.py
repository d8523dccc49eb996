"""Turn a catalog event into local input files: pre/post GeoTIFFs, census, ground truth.

Synthetic events are generated on first use; xBD events are georeferenced from their
label files and mosaicked into one strip. Both are cached under ``GEOVISION_CACHE``
(default ``~/.cache/geovision``) and reused when their ``ready.json`` marker exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from geovision.catalog import EventSpec, LoadedCatalog, SourceSpec, load_catalog
from geovision.defaults import LOST_CLASSES
from geovision.errors import ConfigError, MissingFileError
from geovision.io.atomic import atomic_output
from geovision.io.paths import cache_root
from geovision.io.scaling import Scaling


@dataclass(frozen=True)
class EventInputs:
    """Local inputs of one run."""

    name: str
    pre: Path
    post: Path
    census: Path | None = None
    census_pop_field: str = "pop"
    census_kind: str = "polygons"  # polygons (units with counts in census_pop_field) or raster (persons per cell)
    census_licence: str = ""
    truth_buildings: Path | None = None
    truth_affected_area: Path | None = None
    truth_roads: Path | None = None
    truth_masks: Path | None = None  # folder with buildings_pre.tif, buildings_post.tif (roads_* optional)
    damage_field: str = "damage"  # of truth_buildings: with lost_classes, the reference masks without truth_masks
    lost_classes: tuple[str, ...] = LOST_CLASSES
    licence: str = ""
    attribution: str = ""  # credit owed to the data's authors (report, STAC)
    aoi: Path | None = None  # polygon vector file: the run covers only this area
    event_date: str | None = None  # ISO date of the event (STAC datetime of the run's outputs)
    bands: tuple[int, ...] | None = None  # 1-based bands of both images, in the model's order
    scaling: Scaling | None = None  # of both images; None = the inference default (to8bit)
    title: str = ""  # the catalog's title of the event (place and kind of disaster)
    pre_date: str | None = None  # acquisition dates of the images (ISO 8601), when known
    post_date: str | None = None
    adapt_labels: tuple[Path, ...] = ()  # map data to adapt the model to the pre image (`run --adapt-with`)
    adapt_area: Path | None = None  # polygon(s) where those labels are complete (default: their extent)

    def to_json(self) -> dict:
        """A JSON-ready dict (paths as text, the scaling as a dict)."""

        def text(value):
            if isinstance(value, tuple):
                return [text(v) for v in value]
            return str(value) if isinstance(value, Path) else value

        return {key: text(value) for key, value in asdict(self).items()}


BUILD_VERSION = 3  # bump when the way inputs are built changes (invalidates caches)


def _key(spec: EventSpec) -> str:
    payload = {"spec": spec.model_dump(mode="json"), "build": BUILD_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def materialise(name: str, catalog: LoadedCatalog | None = None, *, cache: Path | None = None) -> EventInputs:
    """Local input files for the catalog event ``name`` (generated or converted on first use)."""
    catalog = catalog or load_catalog()
    spec = catalog.event(name)
    folder = (cache or cache_root()) / "events" / f"{name}-{_key(spec)}"
    if spec.kind == "synthetic":
        inputs = _synthetic(name, spec, folder)
    elif spec.kind == "xbd":
        inputs = _xbd(name, spec, catalog, folder)
    elif spec.kind == "files":
        inputs = _files(name, spec, catalog, folder)
    else:
        raise ConfigError(
            f"event `{name}` streams imagery from {spec.stac_collection}, which needs network access",
            fix="download the pre/post GeoTIFFs and run `geovision run --pre PRE --post POST --out DIR`",
        )
    dates = {
        "pre_date": spec.pre.acquired if spec.pre else None,
        "post_date": spec.post.acquired if spec.post else None,
    }
    if spec.kind == "xbd":
        dates = xbd_capture_dates(catalog.resolve(spec.xbd.labels_dir), spec.xbd.disaster, spec.xbd.tiles[0])
    return replace(inputs, event_date=spec.date, title=spec.title, attribution=spec.attribution, **dates)


def xbd_capture_dates(labels: Path, disaster: str, tile: str) -> dict[str, str | None]:
    """``pre_date``/``post_date`` from the ``capture_date`` of an xBD tile's label files (None where absent)."""
    dates = {}
    for date in ("pre", "post"):
        path = labels / f"{disaster}_{tile}_{date}_disaster.json"
        metadata = json.loads(path.read_text()).get("metadata", {}) if path.exists() else {}
        dates[f"{date}_date"] = metadata.get("capture_date")
    return dates


def _synthetic(name: str, spec: EventSpec, folder: Path) -> EventInputs:
    from geovision.synth.generate import generate_event

    synth = spec.synth
    if not (folder / "event.json").exists():
        generate_event(
            folder,
            width=synth.width,
            height=synth.height,
            gsd_m=synth.gsd_m,
            seed=synth.seed,
            event=synth.event,
            crs=synth.crs,
            overwrite=True,
        )
    return EventInputs(
        name=name,
        pre=folder / "pre.tif",
        post=folder / "post.tif",
        census=folder / "census.gpkg",
        census_pop_field="pop",
        truth_buildings=folder / "buildings.gpkg",
        truth_affected_area=folder / "affected_area.gpkg",
        truth_roads=folder / "roads.gpkg",
        truth_masks=folder,
        damage_field="damage",
        licence=spec.licence,
    )


def _files(name: str, spec: EventSpec, catalog: LoadedCatalog, folder: Path) -> EventInputs:
    def where(source: SourceSpec, date: str) -> Path:
        if source.url:
            raise ConfigError(
                f"event `{name}` reads {source.url}, which needs network access",
                fix="download it and give its local path",
            )
        path = catalog.resolve(source.path)
        return _with_crs(path, source.crs, folder / f"{date}.vrt") if source.crs else path

    truth, census = spec.truth, spec.census
    bands, scaling = _pair_settings(name, spec, catalog)
    return EventInputs(
        name=name,
        pre=where(spec.pre, "pre"),
        post=where(spec.post, "post"),
        census=catalog.resolve(census.path) if census else None,
        census_pop_field=census.pop_field if census else "pop",
        census_kind=census.kind if census else "polygons",
        census_licence=census.licence if census else "",
        truth_buildings=catalog.resolve(truth.buildings) if truth and truth.buildings else None,
        truth_affected_area=catalog.resolve(truth.affected_area) if truth and truth.affected_area else None,
        damage_field=truth.damage_field if truth else "damage",
        lost_classes=tuple(truth.lost_classes) if truth else LOST_CLASSES,
        licence=spec.licence,
        bands=bands,
        scaling=scaling,
    )


def _pair_settings(name: str, spec: EventSpec, catalog: LoadedCatalog) -> tuple[tuple[int, ...] | None, Scaling | None]:
    """The ``bands`` and ``scaling`` of a files event; the engine takes one of each for the pair."""
    pre, post = spec.pre, spec.post
    for key in ("bands", "scaling"):
        if getattr(pre, key) != getattr(post, key):
            raise ConfigError(
                f"event `{name}`: pre.{key} and post.{key} differ (one setting is used for both images)",
                path=catalog.path,
                fix=f"give the same `{key}` under pre and post (or omit it in both)",
            )
    return (tuple(pre.bands) if pre.bands else None), (pre.scaling.to_scaling() if pre.scaling else None)


def _with_crs(path: Path, crs: str, vrt: Path) -> Path:
    """A VRT of ``path`` with its CRS set to ``crs`` (the catalog's override); the VRT's path.

    The VRT records the source's size and mtime, so an edited source changes its hash (and re-runs stages).
    """
    import rasterio
    import rasterio.shutil
    from rasterio.crs import CRS

    if not path.exists():
        raise MissingFileError("image not found", path=path, fix="check the event's path in the catalog")
    with atomic_output(vrt, overwrite=True) as tmp:
        rasterio.shutil.copy(str(path), str(tmp), driver="VRT")
        with rasterio.open(tmp, "r+") as dataset:
            dataset.crs = CRS.from_user_input(crs)
            stat = path.stat()
            dataset.update_tags(
                GEOVISION_SOURCE=str(path),
                GEOVISION_SOURCE_SIZE=str(stat.st_size),
                GEOVISION_SOURCE_MTIME_NS=str(stat.st_mtime_ns),
            )
    return vrt


def _xbd(name: str, spec: EventSpec, catalog: LoadedCatalog, folder: Path) -> EventInputs:
    xbd = spec.xbd
    images, labels = catalog.resolve(xbd.images_dir), catalog.resolve(xbd.labels_dir)
    if not images.is_dir():
        raise MissingFileError(
            "xBD image folder not found",
            path=images,
            fix="put the shared data folder beside the repository (../shared/data)",
        )
    lost = tuple(spec.truth.lost_classes) if spec.truth else LOST_CLASSES
    inputs = EventInputs(
        name=name,
        pre=folder / "pre.tif",
        post=folder / "post.tif",
        truth_buildings=folder / "truth_buildings.gpkg",
        truth_masks=folder,
        damage_field="subtype",
        lost_classes=lost,
        licence=spec.licence,
    )
    if (folder / "ready.json").exists():
        return inputs
    with atomic_output(folder, overwrite=True) as tmp:
        tmp.mkdir(parents=True)
        build_xbd_strip(images, labels, xbd.disaster, xbd.tiles, tmp, lost_classes=lost)
        (tmp / "ready.json").write_text(json.dumps({"event": name, "tiles": xbd.tiles}))
    return inputs


def build_xbd_strip(
    images: Path,
    labels: Path,
    disaster: str,
    tiles: list[str],
    out: Path,
    *,
    lost_classes: Sequence[str] = LOST_CLASSES,
) -> None:
    """Write the xBD tiles mosaicked on one grid (:func:`geovision.impact.xbd.xbd_mosaic`) under ``out``:
    ``pre.tif``/``post.tif`` strips, ``truth_buildings.gpkg`` and ``buildings_pre.tif``/``buildings_post.tif``
    (a building of a ``lost_classes`` subtype is missing from the post mask)."""
    import rasterio

    from geovision.impact.xbd import xbd_mosaic
    from geovision.io.cog import write_cog
    from geovision.io.vectors import write_vectors

    labels_of = [labels / f"{disaster}_{tile}_post_disaster.json" for tile in tiles]
    mosaic = xbd_mosaic(labels_of, images=images, lost_classes=lost_classes)
    tiling = {"driver": "GTiff", "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    for date, image in (("pre", mosaic.pre_image), ("post", mosaic.post_image)):
        assert image is not None  # an image folder was given
        count, height, width = image.shape
        grid = {"count": count, "height": height, "width": width, "crs": mosaic.crs, "transform": mosaic.transform}
        with rasterio.open(out / f"{date}.tif", "w", dtype=image.dtype, **grid, **tiling) as strip:
            strip.write(image)
    write_vectors(mosaic.buildings, out / "truth_buildings.gpkg")
    for date, mask in (("pre", mosaic.pre), ("post", mosaic.post)):
        write_cog(
            out / f"buildings_{date}.tif", mask, transform=mosaic.transform, crs=mosaic.crs, nodata=None, kind="mask"
        )
