"""Which file bands feed which model band: the one place where inference chooses bands.

Rules, in order (:func:`plan_bands`): an explicit ``--bands`` selection; a single non-alpha
band (pan-chromatic) repeated for every model band; the colour interpretation
(``ColorInterp.red`` ...); the band descriptions (``"Red"``, ``"R"``, WorldView-style
``"Coastal", "Blue", ... "NIR2"``); the non-alpha bands in order when there are exactly as
many as the model takes. Anything else is a BandCountError that lists the file's bands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rasterio.enums import ColorInterp

from geovision.errors import BandCountError

RGB = ("red", "green", "blue")  # the band names of the shipped models

# Description spellings of a model band, normalised by _normalise (lower case, letters and digits, no "band").
ALIASES: dict[str, frozenset[str]] = {
    "red": frozenset({"red", "r"}),
    "green": frozenset({"green", "g"}),
    "blue": frozenset({"blue", "b"}),
    "nir": frozenset({"nir", "nir1", "nearinfrared"}),
}


@dataclass(frozen=True)
class BandPlan:
    """The 1-based file band read for each model band, and how that was decided."""

    bands: tuple[int, ...]
    model_bands: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        """``{"file_bands": [...], "model_bands": [...], "reason": ...}`` (for run records)."""
        return {"file_bands": list(self.bands), "model_bands": list(self.model_bands), "reason": self.reason}

    def describe(self) -> str:
        """E.g. ``red <- band 5, green <- band 3, blue <- band 2 (band descriptions)``."""
        if len(self.bands) != len(self.model_bands):
            return f"bands {', '.join(map(str, self.bands))} ({self.reason})"
        pairs = ", ".join(f"{name} <- band {band}" for name, band in zip(self.model_bands, self.bands, strict=True))
        return f"{pairs} ({self.reason})"


def _normalise(text: str | None) -> str:
    words = re.findall(r"[a-z0-9]+", (text or "").lower())
    return "".join(word for word in words if word != "band")


def usable_bands(dataset: Any) -> list[int]:
    """The 1-based non-alpha bands (all bands when every band is alpha)."""
    bands = [i for i, ci in enumerate(dataset.colorinterp, start=1) if ci != ColorInterp.alpha]
    return bands or list(range(1, dataset.count + 1))


def _unique_matches(
    usable: list[int], model_bands: Sequence[str], matches: Callable[[int, str], bool]
) -> tuple[int, ...] | None:
    """One file band per model band where ``matches(band, name)`` picks exactly one; else None."""
    chosen = []
    for name in model_bands:
        found = [band for band in usable if matches(band, name)]
        if len(found) != 1:
            return None
        chosen.append(found[0])
    return tuple(chosen)


def _by_colorinterp(dataset: Any, usable: list[int], model_bands: Sequence[str]) -> tuple[int, ...] | None:
    interps = tuple(dataset.colorinterp)
    wanted = {name: ColorInterp.__members__.get(_normalise(name)) for name in model_bands}
    if None in wanted.values():
        return None
    return _unique_matches(usable, model_bands, lambda band, name: interps[band - 1] == wanted[name])


def _by_description(dataset: Any, usable: list[int], model_bands: Sequence[str]) -> tuple[int, ...] | None:
    texts = [_normalise(text) for text in dataset.descriptions]
    return _unique_matches(
        usable,
        model_bands,
        lambda band, name: texts[band - 1] in ALIASES.get(_normalise(name), frozenset({_normalise(name)})),
    )


def _listing(dataset: Any) -> str:
    parts = []
    for band, (ci, text) in enumerate(zip(dataset.colorinterp, dataset.descriptions, strict=True), start=1):
        parts.append(f"{band}: {ci.name}" + (f" {text!r}" if text else ""))
    return ", ".join(parts)


def _placeholder(model_bands: Sequence[str]) -> str:
    letters = [name[:1].upper() for name in model_bands]
    return ",".join(letters) if len(set(letters)) == len(letters) else ",".join(map(str, range(1, len(letters) + 1)))


def plan_bands(
    dataset: Any, model_bands: Sequence[str], *, bands: Sequence[int] | None = None, path: str | None = None
) -> BandPlan:
    """The :class:`BandPlan` of an open rasterio ``dataset`` for a model taking ``model_bands`` (see module doc).

    ``bands`` (1-based, e.g. from ``--bands``) always wins and is returned as given; its count is
    checked against the model by the caller. Raises BandCountError naming ``path`` when the file
    does not say which bands to use.
    """
    model_bands = tuple(model_bands)
    name = path or dataset.name
    if bands is not None:
        return BandPlan(tuple(int(b) for b in bands), model_bands, "--bands")
    usable = usable_bands(dataset)
    n = len(model_bands)
    if len(usable) == 1 and n > 1:
        if dataset.colorinterp[usable[0] - 1] == ColorInterp.palette:
            raise BandCountError(
                "its only band is a colour palette, not an image band",
                path=name,
                fix="expand it to RGB first: `gdal_translate -expand rgb FILE OUT.tif`",
            )
        return BandPlan((usable[0],) * n, model_bands, f"pan-chromatic: band {usable[0]} in every input band")
    for reason, pick in (("colour interpretation", _by_colorinterp), ("band descriptions", _by_description)):
        chosen = pick(dataset, usable, model_bands)
        if chosen is not None:
            return BandPlan(chosen, model_bands, reason)
    if len(usable) == n:
        return BandPlan(tuple(usable), model_bands, f"first {n} non-alpha bands")
    raise BandCountError(
        f"cannot tell which of its {len(usable)} bands are {', '.join(model_bands)}: neither colour "
        f"interpretation nor band descriptions say so (bands {_listing(dataset)})",
        path=name,
        fix=f"give the file's {', '.join(model_bands)} band numbers in that order: "
        f"--bands {_placeholder(model_bands)} (1-based, e.g. --bands "
        f"{','.join(map(str, range(n, 0, -1)))}), or name the bands "
        "(`rio edit-info --bidx 1 --description red FILE`)",
    )
