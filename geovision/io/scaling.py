"""Per-band value scaling of imagery (raw counts -> float32, usually in [0, 1]).

Methods (``Scaling.method``):

- ``none``: raw values as float32.
- ``dtype``: divide by the dtype's maximum (uint8 -> /255, uint16 -> /65535); floats unchanged.
- ``fixed``: per-band linear stretch from ``low``..``high`` to 0..1 (e.g. ``high=2047`` for 11-bit).
- ``percentile``: like ``fixed`` with ``low``/``high`` the per-band ``percentiles`` of the valid
  pixels, estimated on a decimated read of the whole raster (bounded memory).
- ``auto``: ``dtype`` for uint8, ``percentile`` for other integers, ``none`` for floats.
- ``to8bit``: the units models are trained in (0..255): uint8 unchanged; any other type
  (11/12/16-bit counts, float reflectance) stretched per band from its ``percentiles`` to 0..255.
  The default of inference (``geovision segment``/``run``).

Stretches map to ``0..out_max`` (default 1). Inference asks for ``out_max=255``
(:func:`to_model_units`), so ``fixed``, ``dtype`` and ``percentile`` also give the models' units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np

from geovision.errors import ConfigError

ScalingMethod = Literal["none", "dtype", "fixed", "percentile", "auto", "to8bit"]
METHODS: tuple[str, ...] = ("none", "dtype", "fixed", "percentile", "auto", "to8bit")
EIGHT_BIT_MAX = 255.0


@dataclass(frozen=True)
class Scaling:
    """How to turn raw band values into model input (see module docstring)."""

    method: ScalingMethod = "none"
    low: float | tuple[float, ...] | None = None
    high: float | tuple[float, ...] | None = None
    percentiles: tuple[float, float] = (2.0, 98.0)
    clip: bool = True
    out_max: float = 1.0  # stretches map to 0..out_max (inference: 255, the models' 8-bit units)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown scaling method {self.method!r}", fix=f"use one of {', '.join(METHODS)}")
        if self.method == "fixed" and (self.low is None or self.high is None):
            raise ConfigError(
                "scaling method 'fixed' needs both 'low' and 'high'",
                fix="give e.g. low: 0, high: 2047 for 11-bit imagery",
            )
        p_low, p_high = self.percentiles
        if not 0.0 <= p_low < p_high <= 100.0:
            raise ConfigError(
                f"scaling percentiles {self.percentiles} are not 0 <= low < high <= 100",
                fix="give e.g. percentiles: [2, 98]",
            )


def to_model_units(value: Scaling | str | Mapping[str, Any] | None) -> Scaling:
    """``value`` as a scaling whose stretches end in the models' 8-bit units (0..255)."""
    return replace(parse_scaling(value), out_max=EIGHT_BIT_MAX)


def parse_scaling(value: Scaling | str | Mapping[str, Any] | None) -> Scaling:
    """Build a :class:`Scaling` from ``None`` (no scaling), a method name or a config mapping."""
    if value is None:
        return Scaling()
    if isinstance(value, Scaling):
        return value
    if isinstance(value, str):
        return Scaling(method=value)  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        known = {f.name for f in fields(Scaling)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(f"unknown scaling option(s) {unknown}", fix=f"use only {sorted(known)}")
        kwargs = dict(value)
        for key in ("low", "high", "percentiles"):
            if isinstance(kwargs.get(key), Sequence):
                kwargs[key] = tuple(float(v) for v in kwargs[key])
        return Scaling(**kwargs)
    raise ConfigError(f"scaling must be a method name or a mapping, not {type(value).__name__}")


@dataclass(frozen=True)
class BandStretch:
    """A resolved per-band linear stretch ``out_max * (x - low) / (high - low)``, optionally clipped to [0, out_max]."""

    low: np.ndarray
    high: np.ndarray
    clip: bool = True
    out_max: float = 1.0

    def apply(self, array: np.ndarray) -> np.ndarray:
        """Scale a float32 ``[bands, h, w]`` array in place and return it."""
        low = self.low[:, None, None]
        span = np.maximum(self.high - self.low, np.finfo(np.float32).eps)[:, None, None]
        array -= low
        array /= span
        if self.clip:
            np.clip(array, 0.0, 1.0, out=array)
        if self.out_max != 1.0:
            array *= np.float32(self.out_max)
        return array


def _per_band(value: float | tuple[float, ...] | None, count: int, name: str) -> np.ndarray:
    if value is None:  # Scaling's validator refuses method 'fixed' without low and high
        raise ConfigError(
            f"scaling method 'fixed' needs '{name}'", fix="give e.g. low: 0, high: 2047 for 11-bit imagery"
        )
    values = np.atleast_1d(np.asarray(value, dtype=np.float32))
    if values.size == 1:
        return np.repeat(values, count)
    if values.size != count:
        raise ConfigError(
            f"scaling '{name}' has {values.size} values for {count} bands",
            fix=f"give one value, or one per selected band ({count})",
        )
    return values


def percentile_stretch(
    sample: np.ndarray, valid: np.ndarray, percentiles: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-band low/high percentiles of the valid pixels of a ``[bands, h, w]`` sample."""
    count = sample.shape[0]
    low = np.zeros(count, np.float32)
    high = np.ones(count, np.float32)
    if not valid.any():
        return low, high
    for band in range(count):
        values = sample[band][valid]
        low[band], high[band] = np.percentile(values, percentiles)
    return low, high


def resolve_scaling(
    scaling: Scaling, *, dtype: str, count: int, sample: Callable[[], tuple[np.ndarray, np.ndarray]]
) -> BandStretch | None:
    """Turn a :class:`Scaling` into a concrete stretch for ``count`` bands of ``dtype`` (None = unscaled).

    ``sample`` returns a decimated ``(array [bands, h, w], valid [h, w])`` view of the whole
    raster; it is called only for percentile scaling.
    """
    method = scaling.method
    kind = np.dtype(dtype).kind
    if method == "to8bit":
        if np.dtype(dtype) == np.uint8:
            return None
        array, valid = sample()
        low, high = percentile_stretch(array, valid, scaling.percentiles)
        return BandStretch(low, high, scaling.clip, out_max=EIGHT_BIT_MAX)
    if method == "auto":
        method = "none" if kind == "f" else ("dtype" if np.dtype(dtype) == np.uint8 else "percentile")
    if method == "none" or (method == "dtype" and kind == "f"):
        return None
    if method == "dtype":
        info = np.iinfo(np.dtype(dtype))
        return BandStretch(
            np.full(count, info.min, np.float32),
            np.full(count, info.max, np.float32),
            scaling.clip,
            out_max=scaling.out_max,
        )
    if method == "fixed":
        return BandStretch(
            _per_band(scaling.low, count, "low"),
            _per_band(scaling.high, count, "high"),
            scaling.clip,
            out_max=scaling.out_max,
        )
    array, valid = sample()
    low, high = percentile_stretch(array, valid, scaling.percentiles)
    return BandStretch(low, high, scaling.clip, out_max=scaling.out_max)
