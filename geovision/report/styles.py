"""QGIS ``.qml`` styles for the run's layers, rendered from the small Jinja2 templates in ``styles/``.

Vector layers get a categorised renderer (the boolean ``lost``, matched as ``true``/``false``
as QGIS does) or a rule-based one: a class per value range, the last one open-ended, and a
class for NULL, so that every feature gets a symbol. Rasters get a pseudocolour ramp in
physical values: probabilities are stored as ``p x 254`` with the band scale 1/254, which
QGIS (>= 3.12) applies, so their ramp runs from 0 to 1.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
import numpy as np

from geovision import defaults
from geovision.io.cog import MASK_COLORMAP
from geovision.report.figures import format_number

RED, ORANGE, YELLOW, GREEN, GREY = (
    "215,25,28,255",
    "253,174,97,255",
    "255,255,191,200",
    "26,150,65,255",
    "190,190,190,160",
)
NULL_COLOUR = "200,200,200,60"  # "no data" class: light, hatched look without a pattern
DII_COLOURS = ("255,255,255,40", "254,204,92,170", "253,141,60,200", "227,26,28,220")
DII_HTML_COLOURS = ("none", "#fecc5c", "#fd8d3c", "#e31a1c")
POP_COLOURS = ("255,255,255,40", "203,201,226,170", "158,154,200,200", "106,81,163,220")
MASK_HTML_COLOUR = "#{:02x}{:02x}{:02x}".format(*MASK_COLORMAP[1][:3])  # the masks' own palette colour


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("geovision.report", "styles"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **values: object) -> str:
    """Render one template of ``geovision/report/styles``."""
    return _environment().get_template(template).render(**values)


def range_rules(
    field: str,
    breaks: list[float],
    colours: tuple[str, ...],
    digits: int,
    *,
    null_label: str,
    labels: list[str] | None = None,
) -> list[dict]:
    """Rules ``breaks[i] <= field < breaks[i+1]``, the last one open-ended, then one for NULL."""
    rules = []
    for i, (low, colour) in enumerate(zip(breaks, colours, strict=True)):
        last = i == len(breaks) - 1
        condition = f'"{field}" >= {low!r}' + ("" if last else f' AND "{field}" < {breaks[i + 1]!r}')
        label = (
            labels[i]
            if labels
            else (
                f"{format_number(low, digits)} and more"
                if last
                else f"{format_number(low, digits)} – {format_number(breaks[i + 1], digits)}"
            )
        )
        rules.append({"filter": condition, "label": label, "color": colour})
    rules.append({"filter": f'"{field}" IS NULL', "label": null_label, "color": NULL_COLOUR})
    return rules


def ruled_style(rules: list[dict], kind: str, raster: str = "") -> str:
    """A rule-based renderer (``kind`` fill or line); ``raster`` adds a raster pipe for a same-name COG."""
    return render("ruled.qml", rules=rules, kind=kind, raster=raster)


def lost_buildings_style() -> str:
    """Buildings: red when ``lost``, grey otherwise (QGIS matches booleans as ``true``/``false``)."""
    return render(
        "categorized.qml",
        field="lost",
        kind="fill",
        categories=[
            {"value": "true", "label": "lost", "color": RED},
            {"value": "false", "label": "standing", "color": GREY},
        ],
    )


def damaged_roads_style() -> str:
    """Road segments by ``lost_fraction``."""
    return ruled_style(
        range_rules(
            "lost_fraction",
            [0.0, 0.1, 0.5],
            (GREEN, ORANGE, RED),
            1,
            labels=["under 10 % lost", "10–50 % lost", "50 % or more lost"],
            null_label="no data",
        ),
        "line",
    )


def dii_breaks(theta: float) -> list[float]:
    """Lower bounds of the DII classes (shared by the QGIS styles and the HTML map)."""
    return [0.0, theta, max(1.0, 2 * theta), max(3.0, 4 * theta)]


def dii_labels(theta: float) -> list[str]:
    """Legend text of the DII classes of :func:`dii_breaks`."""
    b = dii_breaks(theta)
    return [
        f"below θ = {b[1]:g}: not impacted",
        f"{b[1]:g} – {b[2]:g}: impacted",
        f"{b[2]:g} – {b[3]:g}",
        f"{b[3]:g} and more",
    ]


def dii_grid_style(
    theta: float, field: str = "dii", *, raster_band: int | None = None, features: str = "buildings"
) -> str:
    """Grid cells by DII: below ``theta`` nearly transparent, then yellow to red; NULL = no ``features`` before.

    With ``raster_band`` the file also holds the pseudocolour pipe of that band of the
    same-name COG (QGIS finds a layer's default style by the file's base name).
    """
    raster = "" if raster_band is None else raster_style(raster_band, "dii", theta=theta, pipe_only=True)
    return ruled_style(
        range_rules(
            field,
            dii_breaks(theta),
            DII_COLOURS,
            2,
            labels=dii_labels(theta),
            null_label=f"no {features} before (DII undefined)",
        ),
        "fill",
        raster,
    )


def population_style(values: np.ndarray, field: str) -> str:
    """Polygons by ``field`` (quartile breaks of its positive values, the last class open-ended)."""
    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    inner = np.unique(np.quantile(positive, [0.25, 0.5, 0.75])) if positive.size else np.array([])
    breaks = [0.0, *[float(v) for v in inner if v > 0]]
    return ruled_style(range_rules(field, breaks, POP_COLOURS[-len(breaks) :], 0, null_label="no data"), "fill")


def raster_style(band: int, kind: str, *, theta: float = defaults.THETA, pipe_only: bool = False) -> str:
    """Single-band pseudocolour for a ``dii`` band, a probability (0-1 after the band's scale) or a 0/1 mask."""
    if kind == "dii":
        stops = [
            (0.0, "0", "#ffffff", 0),
            (theta, f"θ = {theta:g}", "#fecc5c", 180),
            (1.0, "1", "#fd8d3c", 200),
            (3.0, "3 and more", "#e31a1c", 230),
        ]
        ramp = "INTERPOLATED"
    elif kind == "probability":
        stops = [(0.0, "0", "#ffffff", 0), (0.5, "0.5", "#74a9cf", 160), (1.0, "1", "#045a8d", 230)]
        ramp = "INTERPOLATED"
    elif kind == "mask":
        stops = [(0, "absent", "#ffffff", 0), (1, "present", MASK_HTML_COLOUR, 230)]
        ramp = "EXACT"
    else:
        raise ValueError(f"unknown raster style kind {kind!r}")
    return render(
        "raster_pseudocolor.qml",
        band=band,
        opacity=0.8,
        ramp_type=ramp,
        pipe_only=pipe_only,
        stops=[{"value": v, "label": label, "color": colour, "alpha": alpha} for v, label, colour, alpha in stops],
    )
