"""The event catalog (``data_catalog.yaml``): named events with their imagery, census and truth.

Relative paths in the catalog are resolved against the catalog file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from geovision.config import StrictModel, read_yaml, validate_config
from geovision.errors import ConfigError
from geovision.io.scaling import Scaling, ScalingMethod, parse_scaling

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CATALOG = REPO_ROOT / "data_catalog.yaml"


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
    ``to8bit``) and ``crs`` (an override for a file whose CRS is missing or wrong). Pre and post must
    give the same ``bands`` and ``scaling``. ``band_names``, ``gsd_m``, ``acquired`` and ``sensor``
    are metadata only (documentation of the file; the run does not use them).
    """

    path: str | None = None
    url: str | None = None
    bands: list[Annotated[int, Field(ge=1)]] | None = Field(
        None,
        min_length=1,
        description="1-based band indexes, in model order (default: chosen from the file's metadata)",
    )
    band_names: list[str] | None = None
    crs: str | None = Field(None, description="override when the file's CRS is missing or wrong")
    gsd_m: float | None = Field(None, gt=0)
    scaling: ScalingSpec | None = Field(None, description="default: to8bit (the inference default)")
    acquired: str | None = None
    sensor: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` or `url`")
        if self.bands is not None and self.band_names is not None and len(self.bands) != len(self.band_names):
            raise ValueError("`bands` and `band_names` must have the same length")
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
    """Census counts per admin unit (any vector format, any CRS), or a population raster."""

    path: str
    kind: Literal["polygons", "raster"] = "polygons"
    pop_field: str = "pop"
    name_field: str | None = None
    licence: str


class TruthSpec(StrictModel):
    """Ground truth for evaluation: building footprints with damage, affected area."""

    buildings: str | None = None
    damage_field: str = "damage"
    lost_classes: list[str] = Field(default_factory=lambda: ["destroyed", "major-damage"])
    affected_area: str | None = None
    roads: str | None = None


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
    attribution: str = ""
    requires: Literal["nothing", "shared-data", "network"] = "nothing"

    @model_validator(mode="after")
    def _sources_for_kind(self) -> EventSpec:
        needs = {"synthetic": ("synth",), "files": ("pre", "post"), "xbd": ("xbd",), "stac": ("stac_collection",)}
        missing = [key for key in needs[self.kind] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"an event of kind `{self.kind}` needs {', '.join(missing)}")
        return self


class Catalog(StrictModel):
    """The whole catalog file."""

    version: Literal[1] = 1
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
    """Load ``data_catalog.yaml`` (default: the repository's; ``GEOVISION_CATALOG`` overrides)."""
    path = Path(path or os.environ.get("GEOVISION_CATALOG", DEFAULT_CATALOG))
    catalog = validate_config(read_yaml(path), Catalog, source=path)
    return LoadedCatalog(catalog, path.resolve().parent, path.resolve())
