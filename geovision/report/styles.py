"""QGIS ``.qml`` styles for the run's layers, rendered from the small Jinja2 templates in ``styles/``."""

from __future__ import annotations

from functools import lru_cache

import jinja2
import numpy as np

from geovision.report.figures import format_number

RED, ORANGE, YELLOW, GREEN, GREY = "215,25,28,255", "253,174,97,255", "255,255,191,200", "26,150,65,255", \
    "190,190,190,160"
DII_COLOURS = ("255,255,255,40", "254,204,92,170", "253,141,60,200", "227,26,28,220")
DII_HTML_COLOURS = ("none", "#fecc5c", "#fd8d3c", "#e31a1c")
POP_COLOURS = ("255,255,255,40", "203,201,226,170", "158,154,200,200", "106,81,163,220")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("geovision.report", "styles"),
                              autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def render(template: str, **values: object) -> str:
    """Render one template of ``geovision/report/styles``."""
    return _environment().get_template(template).render(**values)


def _ranges(breaks: list[float], colours: tuple[str, ...], digits: int) -> list[dict]:
    return [{"lower": low, "upper": high, "color": colour,
             "label": f"{format_number(low, digits)} – {format_number(high, digits)}"}
            for low, high, colour in zip(breaks[:-1], breaks[1:], colours)]


def lost_buildings_style() -> str:
    """Buildings: red when ``lost``, grey otherwise."""
    return render("categorized.qml", field="lost", kind="fill",
                  categories=[{"value": 1, "label": "lost", "color": RED},
                              {"value": 0, "label": "standing", "color": GREY}])


def damaged_roads_style() -> str:
    """Road segments graduated by ``lost_fraction``."""
    return render("graduated.qml", field="lost_fraction", kind="line",
                  ranges=_ranges([0.0, 0.1, 0.5, 1.0], (GREEN, ORANGE, RED), 1))


def dii_breaks(theta: float) -> list[float]:
    """Lower bounds of the DII classes (shared by the QGIS styles and the HTML map)."""
    return [0.0, theta, max(1.0, 2 * theta), max(3.0, 4 * theta)]


def dii_grid_style(theta: float, field: str = "dii") -> str:
    """Grid cells graduated by DII: below ``theta`` nearly transparent, then yellow to red."""
    return render("graduated.qml", field=field, kind="fill", ranges=_ranges([*dii_breaks(theta), 1e9], DII_COLOURS, 2))


def population_style(values: np.ndarray, field: str) -> str:
    """Polygons graduated by ``field`` (quartile breaks of its positive values)."""
    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    if positive.size == 0:
        breaks = [0.0, 1.0]
    else:
        inner = np.unique(np.quantile(positive, [0.25, 0.5, 0.75]))
        breaks = [0.0, *[float(v) for v in inner if v > 0], float(positive.max()) + 1]
    return render("graduated.qml", field=field, kind="fill", ranges=_ranges(breaks, POP_COLOURS[-len(breaks) + 1:], 0))


def raster_style(band: int, kind: str, *, theta: float = 0.1) -> str:
    """Single-band pseudocolour for a ``dii`` band, a probability or a 0/1 mask."""
    if kind == "dii":
        stops = [(0.0, "0", "#ffffff", 0), (theta, f"theta {theta:g}", "#fecc5c", 180), (1.0, "1", "#fd8d3c", 200),
                 (3.0, "3 and more", "#e31a1c", 230)]
        ramp = "INTERPOLATED"
    elif kind == "probability":
        stops = [(0.0, "0", "#ffffff", 0), (0.5, "0.5", "#74a9cf", 160), (1.0, "1", "#045a8d", 230)]
        ramp = "INTERPOLATED"
    elif kind == "mask":
        stops = [(0.0, "absent", "#ffffff", 0), (1.0, "present", "#045a8d", 230)]
        ramp = "EXACT"
    else:
        raise ValueError(f"unknown raster style kind {kind!r}")
    return render("raster_pseudocolor.qml", band=band, opacity=0.8, ramp_type=ramp,
                  stops=[{"value": v, "label": label, "color": colour, "alpha": alpha}
                         for v, label, colour, alpha in stops])
