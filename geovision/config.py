"""Typed configuration: strict pydantic models loaded from YAML with ``yaml.safe_load``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from geovision.errors import ConfigError, MissingFileError

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def read_yaml(path: str | os.PathLike[str]) -> dict:
    """Read a YAML mapping safely; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("config file not found", path=path, fix="check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML ({error})", path=path, fix="correct the YAML syntax") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", path=path, fix="write `key: value` pairs")
    return data


def validate_config(data: dict, model: type[ModelT], *, source: str | os.PathLike[str] | None = None) -> ModelT:
    """Build ``model`` from ``data``; a validation failure becomes a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors())
        raise ConfigError(f"invalid {model.__name__}: {problems}", path=source,
                          fix="correct or remove the named keys (see the documented schema)") from error


def load_config(path: str | os.PathLike[str], model: type[ModelT]) -> ModelT:
    """Read a YAML file into a strict pydantic ``model``."""
    return validate_config(read_yaml(path), model, source=path)
