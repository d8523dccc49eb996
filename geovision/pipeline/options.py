"""The options of ``geovision run`` (recorded in run.json; each stage declares the fields it reads)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from pydantic import TypeAdapter, ValidationError

from geovision import defaults
from geovision.config import parse_override, validation_problems
from geovision.errors import ConfigError


@dataclass(frozen=True)
class RunOptions:
    """Options of a run (recorded in run.json; a change re-runs the stages that read it)."""

    model: str = "default"
    runtime: str = "auto"
    device: str = "auto"
    chip_px: int = 512
    overlap_px: int = 64
    batch_windows: int = 0  # 0 = auto (SegmentOptions.resolved)
    scheduler: str | None = None
    cell_px: int = defaults.CELL_PX
    tau: float = defaults.TAU
    theta_buildings: float = defaults.THETA
    theta_roads: float = defaults.THETA
    tolerance_px: int = defaults.TOLERANCE_PX
    min_building_m2: float = defaults.MIN_BUILDING_M2
    adapt_minutes: float = 10.0  # time budget of the adapt stage (only with --adapt-with)


def resolve_options(
    defaults: RunOptions, *, config: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()
) -> RunOptions:
    """``defaults`` updated by a YAML file of RunOptions fields (``--config``), then ``key=value`` overrides (``-o``).

    Values are validated against the fields' types; an unknown key, a malformed override or a value of
    the wrong type is a one-line ConfigError naming it.
    """
    from geovision.config import read_yaml

    values: dict[str, Any] = asdict(defaults)
    layers: list[tuple[str, dict[str, Any]]] = []
    if config is not None:
        layers.append((str(config), read_yaml(config)))
    for text in overrides:
        path, value = parse_override(text)
        layers.append((f"-o {text}", {".".join(path): value}))
    known = {f.name for f in fields(RunOptions)}
    for source, layer in layers:
        unknown = sorted(set(layer) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown run option(s) {', '.join(unknown)}",
                fix=f"use the fields of RunOptions: {', '.join(sorted(known))}",
            )
        values.update(layer)
    try:
        return TypeAdapter(RunOptions).validate_python(values)
    except ValidationError as error:
        raise ConfigError(
            f"invalid run options: {validation_problems(error)}", path=config, fix="correct the named options"
        ) from error
