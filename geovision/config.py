"""Typed configuration: strict pydantic models loaded from YAML with ``yaml.safe_load``."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from geovision.errors import ConfigError, MissingFileError

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike[str]) -> dict:
    """Read a YAML mapping safely (no tags, no duplicate keys); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("config file not found", path=path, fix="check the path")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError(
            f"not valid YAML ({' '.join(str(error).split())})", path=path, fix="correct the YAML syntax"
        ) from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"not a UTF-8 text file (byte {error.start})", path=path, fix="give a YAML text file saved as UTF-8"
        ) from error
    except RecursionError as error:
        raise ConfigError(
            "nested too deeply to be a configuration",
            path=path,
            fix="write the configuration as plain nested `key: value` pairs",
        ) from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", path=path, fix="write `key: value` pairs")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``section.key=value`` -> (["section", "key"], value parsed as YAML: numbers, booleans, null, lists)."""
    key, sep, value = text.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise ConfigError(f"-o {text!r} is not key=value", fix="write e.g. -o optim.lr=0.001 or -o grid.cell_px=128")
    try:
        return path, yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        return path, value


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...], *, source: Any = None) -> dict:
    """A copy of ``raw`` with each ``section.key=value`` set (sections created as needed; validation comes after)."""
    out = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"-o {text}: {part} is not a section", path=source, fix="set a key of a section")
            node = child
        node[path[-1]] = value
    return out


def validation_problems(error: ValidationError) -> str:
    """A pydantic validation error on one line: ``key.path: message; ...``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors()
    )


def validate_config(data: dict, model: type[ModelT], *, source: str | os.PathLike[str] | None = None) -> ModelT:
    """Build ``model`` from ``data``; a validation failure becomes a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(
            f"invalid {model.__name__}: {validation_problems(error)}",
            path=source,
            fix="correct or remove the named keys (see the documented schema)",
        ) from error


def load_config(path: str | os.PathLike[str], model: type[ModelT]) -> ModelT:
    """Read a YAML file into a strict pydantic ``model``."""
    return validate_config(read_yaml(path), model, source=path)
