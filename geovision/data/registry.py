"""The data registry: every data source declared once (``configs/data/sources.yaml``), used by name.

A training, pretraining or evaluation config lists ``{use: NAME, weight: W}`` entries; each
expands into one concrete source per file of the registry entry (``image`` may be a glob with
``{a,b}`` alternatives; ``{stem}`` in label paths is the image's file stem), and the entry's
weight is split evenly between its files, so sampling is balanced over sources, not files.
Entries carry a ``split`` (``train``, ``eval``, ``adapt``, ``unlabelled``, ``unused``); a
training config may only use ``train`` (and ``unlabelled``) entries.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geovision.config import read_yaml
from geovision.errors import ConfigError

SPLITS = ("train", "eval", "adapt", "unlabelled", "unused")
TRAINABLE = ("train", "unlabelled")
_REGISTRY_KEYS = {"split", "reason", "stem_replace"}
_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")


def expand_braces(pattern: str) -> list[str]:
    """``a{1,2}b`` -> ``[a1b, a2b]`` (nested and repeated alternatives; no alternatives: ``[pattern]``)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [out for option in match.group(1).split(",") for out in expand_braces(head + option + tail)]


@dataclass(frozen=True)
class RegistryEntry:
    """One registered source: its split, licence and the raw source fields of its kind."""

    name: str
    split: str
    fields: dict[str, Any]
    reason: str = ""
    stem_replace: tuple[str, str] | None = None

    @property
    def kind(self) -> str:
        return self.fields["kind"]

    @property
    def licence(self) -> str:
        return self.fields.get("licence", "unknown")

    def images(self, data_root: Path) -> list[Path]:
        """The image files the entry matches under ``data_root`` (sorted; an error when none)."""
        found = sorted(
            {Path(p) for pattern in expand_braces(self.fields["image"]) for p in glob.glob(str(data_root / pattern))}
        )
        if not found:
            raise ConfigError(
                f"data registry entry {self.name!r} matches no file ({self.fields['image']})",
                path=data_root,
                fix="check data_root (it must hold ../shared/data's sources)",
            )
        return found

    def _label(self, template: str, image: Path, data_root: Path) -> str:
        stem = image.stem
        if self.stem_replace:
            stem = stem.replace(*self.stem_replace)
        return str(data_root / template.format(stem=stem))

    def sources(self, data_root: Path, *, weight: float | None = None) -> list[dict[str, Any]]:
        """Concrete source mappings (absolute paths), one per image, sharing ``weight`` evenly."""
        images = self.images(data_root)
        share = (weight if weight is not None else float(self.fields.get("weight", 1.0))) / len(images)
        out = []
        for image in images:
            source = {k: v for k, v in self.fields.items() if k != "kind" or self.kind != "unlabelled"}
            source.update(
                image=str(image), weight=share, name=self.name if len(images) == 1 else f"{self.name}: {image.stem}"
            )
            for key in ("labels", "masks"):
                value = source.get(key)
                if isinstance(value, str):
                    source[key] = self._label(value, image, data_root)
                elif isinstance(value, dict):
                    source[key] = {task: self._label(t, image, data_root) for task, t in value.items()}
            out.append(source)
        return out


@dataclass
class Registry:
    """All entries of a registry file."""

    path: Path
    entries: dict[str, RegistryEntry] = field(default_factory=dict)

    def __getitem__(self, name: str) -> RegistryEntry:
        if name not in self.entries:
            raise ConfigError(
                f"unknown data source {name!r}", path=self.path, fix=f"use one of: {', '.join(sorted(self.entries))}"
            )
        return self.entries[name]

    def by_split(self, split: str) -> list[RegistryEntry]:
        return [e for e in self.entries.values() if e.split == split]


def load_registry(path: str | os.PathLike[str]) -> Registry:
    """Read and check a registry file (every entry has a known split and an image pattern)."""
    path = Path(path)
    raw = read_yaml(path).get("sources")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("a data registry needs a `sources:` mapping of named entries", path=path)
    entries = {}
    for name, fields in raw.items():
        if not isinstance(fields, dict) or "image" not in fields or "kind" not in fields:
            raise ConfigError(f"registry entry {name!r} needs `kind` and `image`", path=path)
        split = fields.get("split")
        if split not in SPLITS:
            raise ConfigError(
                f"registry entry {name!r} has split {split!r}", path=path, fix=f"use one of {', '.join(SPLITS)}"
            )
        replace = fields.get("stem_replace")
        entries[name] = RegistryEntry(
            name=name,
            split=split,
            reason=fields.get("reason", ""),
            stem_replace=tuple(replace) if replace else None,
            fields={k: v for k, v in fields.items() if k not in _REGISTRY_KEYS},
        )
    return Registry(path, entries)


def expand_uses(
    items: list, registry: Registry, data_root: Path, *, where: str, allowed: tuple[str, ...] = TRAINABLE
) -> list:
    """Replace every ``{use: NAME, weight: W}`` item of a source list by the entry's concrete sources."""
    out: list = []
    for item in items:
        if not (isinstance(item, dict) and "use" in item):
            out.append(item)
            continue
        extra = sorted(set(item) - {"use", "weight"})
        if extra:
            raise ConfigError(f"{where}: a `use:` item takes only `weight`, not {extra}", path=registry.path)
        entry = registry[item["use"]]
        if entry.split not in allowed:
            raise ConfigError(
                f"{where} uses {entry.name!r}, whose split is {entry.split!r}"
                + (f" ({entry.reason})" if entry.reason else ""),
                path=registry.path,
                fix=f"{where} may only use {' or '.join(allowed)} entries",
            )
        out.extend(entry.sources(data_root, weight=item.get("weight")))
    return out


def resolve_registry(raw: dict, config_dir: Path) -> dict:
    """A config mapping with its registry references expanded (no ``data_registry`` key: unchanged).

    ``data_registry`` is relative to the config's folder, ``data_root`` too. Expanded: the source
    lists ``data.train`` (``train``/``unlabelled`` entries), ``data.val`` (any split: validation may
    watch evaluation sets), ``data.sources`` (self-supervision) and ``distill.unlabelled``.
    """
    registry_path = raw.get("data_registry")
    if registry_path is None:
        return raw
    registry = load_registry(config_dir / registry_path)
    data_root = (config_dir / raw.get("data_root", ".")).resolve()
    out = {k: v for k, v in raw.items() if k != "data_registry"}
    data = dict(out.get("data") or {})
    for key, allowed in (("train", TRAINABLE), ("sources", TRAINABLE), ("val", SPLITS)):
        if isinstance(data.get(key), list):
            data[key] = expand_uses(data[key], registry, data_root, where=f"data.{key}", allowed=allowed)
    if data:
        out["data"] = data
    distill = out.get("distill")
    if isinstance(distill, dict) and isinstance(distill.get("unlabelled"), list):
        out["distill"] = {
            **distill,
            "unlabelled": expand_uses(distill["unlabelled"], registry, data_root, where="distill.unlabelled"),
        }
    return out
