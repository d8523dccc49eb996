"""The event catalog (``data_catalog.yaml``): named events with their imagery, census and truth.

Relative paths in a catalog are resolved against its ``root`` (default: the catalog file's folder).
The package ships its own catalog (:data:`DEFAULT_CATALOG`, ``geovision/data_catalog.yaml``) with
``root: ..``: the folder holding the package, the repository in a checkout, so that its
``../shared/data`` paths mean the shared data beside the repository.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from geovision import defaults
from geovision.config import StrictModel, read_yaml, validate_config
from geovision.errors import ConfigError
from geovision.io.scaling import Scaling, ScalingMethod, parse_scaling

#: the catalog shipped as package data (``GEOVISION_CATALOG`` or ``--catalog`` give another)
DEFAULT_CATALOG = Path(str(resources.files("geovision").joinpath("data_catalog.yaml")))


class ScalingSpec(StrictModel):
    """How raw band values become model input: the :mod:`geovision.io.scaling` vocabulary.

    ``method``: none, dtype, fixed (needs ``low``/``high``, e.g. 0..2047 for 11-bit), percentile,
    auto or to8bit (the inference default). A bare method name (``scaling: percentile``) is accepted.
    """

    method: ScalingMethod
    low: float | list[float] | None = None
    high: float | list[float] | None = None
    percentiles: tuple[float, float] = (2.0, 98.0)
    clip: bool = True

    @model_validator(mode="before")
    @classmethod
    def _bare_method(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _valid(self) -> ScalingSpec:
        self.to_scaling()  # raises ConfigError (a ValueError) on e.g. `fixed` without low/high
        return self

    def to_scaling(self) -> Scaling:
        """The equivalent :class:`geovision.io.scaling.Scaling`."""
        return parse_scaling(self.model_dump(exclude_none=True))


class SourceSpec(StrictModel):
    """One image of an event: a local path or a URL GDAL can open.

    Used by ``geovision run EVENT``: ``bands`` (default: chosen for the model from the file's
    colour interpretation or band descriptions, see :mod:`geovision.io.bands`), ``scaling`` (default:
    ``to8bit``), ``crs`` (an override for a file whose CRS is missing or wrong) and ``acquired`` (the
    image's date, shown in the report). Pre and post must give the same ``bands`` and ``scaling``.
    """

    path: str | None = None
    url: str | None = None
    bands: list[Annotated[int, Field(ge=1)]] | None = Field(
        None,
        min_length=1,
        description="1-based band indexes, in model order (default: chosen from the file's metadata)",
    )
    crs: str | None = Field(None, description="override when the file's CRS is missing or wrong")
    scaling: ScalingSpec | None = Field(None, description="default: to8bit (the inference default)")
    acquired: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` or `url`")
        return self

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str | None) -> str | None:
        if value is not None:
            from rasterio.crs import CRS
            from rasterio.errors import CRSError

            try:
                CRS.from_user_input(value)
            except CRSError as error:
                raise ValueError(f"unknown CRS {value!r} (give e.g. EPSG:32615)") from error
        return value


class CensusSpec(StrictModel):
    """Where people live: counts per admin unit (``polygons``: any vector format and CRS, counts in
    ``pop_field``) or a population raster (``raster``: WorldPop, HRSL, GHS-POP; persons per cell).
    ``licence`` is shown in the report and the STAC catalog's licence file."""

    path: str
    kind: Literal["polygons", "raster"] = "polygons"
    pop_field: str = "pop"
    licence: str


class TruthSpec(StrictModel):
    """Ground truth for evaluation: building footprints with their damage class, and the affected area.

    ``buildings`` (events of kind ``files``): footprints burnt into the reference masks, a building
    counting as lost after the event when its ``damage_field`` is one of ``lost_classes``. xBD
    events take the footprints from their label files (damage in ``subtype``); ``lost_classes``
    applies to them too.
    """

    buildings: str | None = None
    damage_field: str = "damage"
    lost_classes: list[str] = Field(default_factory=lambda: list(defaults.LOST_CLASSES), min_length=1)
    affected_area: str | None = None


class SynthSpec(StrictModel):
    """Parameters of a generated (synthetic) event."""

    width: int = Field(2048, gt=0)
    height: int = Field(2048, gt=0)
    gsd_m: float = Field(0.5, gt=0)
    seed: int = 0
    event: Literal["tornado", "fire", "flood"] = "tornado"
    crs: str = "EPSG:32615"


class XbdSpec(StrictModel):
    """xBD tiles (PNG + JSON labels) georeferenced from their labels and mosaicked into one strip."""

    images_dir: str
    labels_dir: str
    disaster: str
    tiles: list[str] = Field(min_length=1)


class EventSpec(StrictModel):
    """One event of the catalog."""

    title: str
    kind: Literal["synthetic", "files", "xbd", "stac"]
    date: str | None = None
    description: str = ""
    pre: SourceSpec | None = None
    post: SourceSpec | None = None
    census: CensusSpec | None = None
    truth: TruthSpec | None = None
    synth: SynthSpec | None = None
    xbd: XbdSpec | None = None
    stac_collection: str | None = None
    licence: str
    attribution: str = ""  # credit owed to the data's authors: shown in the report and the STAC licence file
    requires: Literal["nothing", "shared-data", "network"] = "nothing"

    @model_validator(mode="after")
    def _sources_for_kind(self) -> EventSpec:
        needs = {"synthetic": ("synth",), "files": ("pre", "post"), "xbd": ("xbd",), "stac": ("stac_collection",)}
        missing = [key for key in needs[self.kind] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"an event of kind `{self.kind}` needs {', '.join(missing)}")
        truth = self.truth
        own_damage = truth is not None and "damage_field" in truth.model_fields_set and truth.damage_field != "subtype"
        if self.kind == "xbd" and truth is not None and (truth.buildings or own_damage):
            raise ValueError("an xbd event reads its footprints and their damage (`subtype`) from its label files")
        return self


class Catalog(StrictModel):
    """The whole catalog file (``root``: the folder relative paths start from, relative to the file)."""

    version: Literal[1] = 1
    root: str = "."
    events: dict[str, EventSpec]


class LoadedCatalog:
    """A validated catalog plus the folder its relative paths are resolved against."""

    def __init__(self, catalog: Catalog, root: Path, path: Path | None = None):
        self.catalog = catalog
        self.root = root
        self.path = path or root / "data_catalog.yaml"

    @property
    def names(self) -> list[str]:
        return sorted(self.catalog.events)

    def event(self, name: str) -> EventSpec:
        """The event called ``name``; unknown names list the known ones."""
        try:
            return self.catalog.events[name]
        except KeyError:
            raise ConfigError(
                f"unknown event `{name}`", path=self.path, fix=f"use one of: {', '.join(self.names)}"
            ) from None

    def missing_files(self, name: str) -> list[Path]:
        """The local files or folders event ``name`` reads that are not there (URLs and generated data need none)."""
        spec = self.event(name)
        paths = [spec.xbd.images_dir, spec.xbd.labels_dir] if spec.xbd else []
        paths += [source.path for source in (spec.pre, spec.post) if source is not None and source.path]
        return [path for path in map(self.resolve, paths) if not path.exists()]

    def resolve(self, path: str) -> Path:
        """A catalog path made absolute (relative to the catalog's folder)."""
        candidate = Path(os.path.expanduser(path))
        return candidate if candidate.is_absolute() else (self.root / candidate).resolve()


def load_catalog(path: str | os.PathLike[str] | None = None) -> LoadedCatalog:
    """Load an event catalog (default: the packaged one; ``GEOVISION_CATALOG`` overrides)."""
    path = Path(path or os.environ.get("GEOVISION_CATALOG", DEFAULT_CATALOG)).resolve()
    catalog = validate_config(read_yaml(path), Catalog, source=path)
    root = Path(os.path.expanduser(catalog.root))
    return LoadedCatalog(catalog, (path.parent / root).resolve(), path)
