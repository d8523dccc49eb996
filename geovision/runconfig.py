"""The configuration of ``geovision run``: one section per step, every default from :mod:`geovision.defaults`.

:class:`RunConfig` is recorded in run.json (``config``); each stage declares the dotted fields it
reads (``"grid.cell_px"``) and is keyed by exactly those. :func:`resolve_config` layers, the later
winning: the defaults < ``--config FILE`` (a YAML of sections) < command-line flags < ``-o
section.key=value``. Every layer is validated as it is applied, so an error names where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geovision import defaults
from geovision.config import StrictModel, apply_overrides, read_yaml, validation_problems
from geovision.errors import ConfigError
from geovision.types import RuntimeName


class Section(StrictModel):
    """A section of the run configuration: unknown keys refused, numbers finite, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SegmentConfig(Section):
    """The segment stage: which model, run how (``device``, ``batch_windows``, ``scheduler``: speed only)."""

    model: str = defaults.MODEL  # a bundle folder or a shipped model (default, fast, unet)
    runtime: RuntimeName = "auto"
    device: str = "auto"
    chip_px: int = Field(defaults.CHIP_PX, ge=64, multiple_of=32)
    overlap_px: int = Field(defaults.OVERLAP_PX, ge=0, multiple_of=2)
    batch_windows: int = Field(defaults.BATCH_WINDOWS, ge=0)  # 0 = auto
    scheduler: str | None = None  # Dask: local or tcp://host:port
    skip_post_without_features: bool = False  # post windows with no pre-event feature are not predicted

    @model_validator(mode="after")
    def _overlap_fits(self) -> SegmentConfig:
        if self.overlap_px * 2 >= self.chip_px:
            raise ValueError(f"overlap_px {self.overlap_px} leaves nothing of {self.chip_px} px chips (keep it < half)")
        return self


class ThetaConfig(Section):
    """DII thresholds, one per feature: a cell is impacted when its DII >= theta."""

    buildings: float = Field(defaults.THETA, gt=0)
    roads: float = Field(defaults.THETA, gt=0)


class GridConfig(Section):
    """The DII grid: cell size, feature threshold, misregistration allowance and impact thresholds."""

    cell_px: int = Field(defaults.CELL_PX, ge=1)
    tau: float = Field(defaults.TAU, gt=0, le=1)
    tolerance_px: int = Field(defaults.TOLERANCE_PX, ge=0)
    theta: ThetaConfig = Field(default_factory=ThetaConfig)  # a bare number sets both

    @field_validator("theta", mode="before")
    @classmethod
    def _one_theta_for_both(cls, value: Any) -> Any:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return {"buildings": value, "roads": value} if is_number else value


class VectorConfig(Section):
    """The vectorize stage: building polygons smaller than ``min_building_m2`` are dropped."""

    min_building_m2: float = Field(defaults.MIN_BUILDING_M2, ge=0)


class PopulationConfig(Section):
    """Affected population (with a census): how persons are spread on buildings, and the interval."""

    weighting: Literal["pixel", "area"] = defaults.POP_WEIGHTING
    interval: Literal["model", "none"] = defaults.POP_INTERVAL  # bootstrap interval of persons affected


class RoadConfig(Section):
    """Road damage: ``lines``, a vector file of road centre lines scored instead of the pre mask's skeleton."""

    lines: str | None = None

    @field_validator("lines")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else os.path.abspath(os.path.expanduser(value))


class AdaptConfig(Section):
    """The adapt stage (only with ``run --adapt-with``): its time budget in CPU minutes."""

    minutes: float = Field(defaults.ADAPT_MINUTES, ge=0.5)


class RunConfig(Section):
    """Every option of ``geovision run``, by section (recorded in run.json)."""

    segment: SegmentConfig = Field(default_factory=SegmentConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    vectors: VectorConfig = Field(default_factory=VectorConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    roads: RoadConfig = Field(default_factory=RoadConfig)
    adapt: AdaptConfig = Field(default_factory=AdaptConfig)

    @model_validator(mode="after")
    def _skipping_keeps_figures(self) -> RunConfig:
        """Skipped post windows leave the figures unchanged only if the lost-pixel tolerance fits in the halo."""
        halo = self.segment.overlap_px // 2
        if self.segment.skip_post_without_features and self.grid.tolerance_px > halo:
            raise ValueError(
                f"segment.skip_post_without_features needs grid.tolerance_px ({self.grid.tolerance_px}) <= "
                f"segment.overlap_px / 2 ({halo})"
            )
        return self

    def value(self, field: str) -> Any:
        """The value of a dotted field, e.g. ``grid.theta.roads`` (a KeyError names an unknown one)."""
        node: Any = self
        for part in field.split("."):
            if not isinstance(node, BaseModel) or part not in type(node).model_fields:
                raise KeyError(f"{field!r} is not a field of RunConfig (fields: {', '.join(self.fields())})")
            node = getattr(node, part)
        return node.model_dump(mode="json") if isinstance(node, BaseModel) else node

    @classmethod
    def fields(cls, model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
        """Every dotted leaf field (``segment.model`` ... ``adapt.minutes``)."""
        names = []
        for name, info in (model or cls).model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                names += cls.fields(kind, f"{prefix}{name}.")
            else:
                names.append(f"{prefix}{name}")
        return names

    def flat(self) -> dict[str, Any]:
        """``{dotted field: value}`` of every leaf field."""
        return {name: self.value(name) for name in self.fields()}


#: the flat option names of run.json before sections (geovision 0.1 records), and their fields now
LEGACY_NAMES = {
    "model": "segment.model",
    "runtime": "segment.runtime",
    "device": "segment.device",
    "chip_px": "segment.chip_px",
    "overlap_px": "segment.overlap_px",
    "batch_windows": "segment.batch_windows",
    "scheduler": "segment.scheduler",
    "cell_px": "grid.cell_px",
    "tau": "grid.tau",
    "tolerance_px": "grid.tolerance_px",
    "theta_buildings": "grid.theta.buildings",
    "theta_roads": "grid.theta.roads",
    "min_building_m2": "vectors.min_building_m2",
    "adapt_minutes": "adapt.minutes",
}


def from_legacy(options: Mapping[str, Any]) -> dict[str, Any]:
    """Flat options of an earlier record as sections; a name this version does not know is a ValueError."""
    unknown = sorted(set(options) - set(LEGACY_NAMES))
    if unknown:
        raise ValueError(f"options {', '.join(unknown)} are not run options of this geovision")
    out: dict[str, Any] = {}
    for name, value in options.items():
        _set(out, LEGACY_NAMES[name].split("."), value)
    return out


def _set(tree: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _merged(base: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in layer.items():
        both = isinstance(value, Mapping) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def resolve_config(
    base: RunConfig | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    overrides: Sequence[str] = (),
) -> RunConfig:
    """``base`` (default: the defaults) updated by a YAML of sections, then ``flags``, then ``-o`` overrides.

    ``flags``: ``{"--cell-px": {"grid.cell_px": 128}}``, the command-line options given. An unknown
    key, a malformed override or a bad value is a one-line ConfigError naming its source.
    """
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if config is not None:
        layers.append((str(config), read_yaml(config)))
    for flag, values in (flags or {}).items():
        tree: dict[str, Any] = {}
        for field, value in values.items():
            _set(tree, field.split("."), value)
        layers.append((flag, tree))
    layers += [(f"-o {text}", apply_overrides({}, [text])) for text in overrides]
    current = base or RunConfig()
    for source, layer in layers:
        try:
            current = RunConfig.model_validate(_merged(current.model_dump(), layer))
        except ValidationError as error:
            problems = validation_problems(error)
            raise ConfigError(f"{source}: invalid run config: {problems}", fix=_fix(error, layer)) from error
    return current


def _fix(error: ValidationError, layer: Mapping[str, Any]) -> str:
    if not any(item["type"] == "extra_forbidden" for item in error.errors()):
        return "give the named fields a value of their type and range (RunConfig in geovision/runconfig.py)"
    old = [name for name in layer if name in LEGACY_NAMES]
    hint = f" ({', '.join(f'{n} is now {LEGACY_NAMES[n]}' for n in old)})" if old else ""
    return f"use the sections of RunConfig ({', '.join(RunConfig.model_fields)}), e.g. grid.cell_px{hint}"


def recorded_config(document: Mapping[str, Any]) -> RunConfig:
    """The RunConfig of a run document (:meth:`~geovision.runrecord.RunRecord.document`): what the report reads."""
    return RunConfig.model_validate(document.get("config") or {})
