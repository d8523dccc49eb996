"""Disaster events on a synthetic town: affected region, intensity, building damage, road loss.

``tornado`` sweeps a variable-width track across the town, ``fire`` burns an
irregular scar, ``flood`` spreads from the river over the low ground. Damage of
each building is drawn from the event intensity at its centre; a building is
*lost* when it is ``destroyed`` or ``major-damage`` (the xBD convention used by
the Disaster Impact Index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geovision.synth.layout import COMMERCIAL, SHED, Town
from geovision.synth.shapes import blob, variable_buffer, wavy_line
from geovision.types import Bounds

EVENTS = ("tornado", "fire", "flood")
DAMAGE_CLASSES = ("no-damage", "minor-damage", "major-damage", "destroyed")
NO_DAMAGE, MINOR, MAJOR, DESTROYED = range(4)
# intensity levels rasterised for the post image (outer ring first)
LEVELS = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class Disaster:
    """What the event did to the town."""

    kind: str
    region: BaseGeometry  # the true affected area
    levels: list[tuple[float, BaseGeometry]]  # nested areas of increasing intensity
    damage: np.ndarray  # per building: index into DAMAGE_CLASSES
    road_loss: BaseGeometry  # where road surface is lost (covered, destroyed, flooded)

    @property
    def lost(self) -> np.ndarray:
        return self.damage >= MAJOR


def make_disaster(town: Town, kind: str, rng: np.random.Generator) -> Disaster:
    """Apply an event of ``kind`` (one of :data:`EVENTS`) to ``town``."""
    if kind == "tornado":
        region, levels, intensity = _tornado(town, rng)
        thresholds, noise, road_p = (0.4, 0.6, 0.8), 0.12, 0.55
    elif kind == "fire":
        region, levels, intensity = _fire(town, rng)
        thresholds, noise, road_p = (0.3, 0.45, 0.55), 0.3, 0.25
    elif kind == "flood":
        region, levels, intensity = _flood(town, rng)
        thresholds, noise, road_p = (0.3, 0.65, 0.9), 0.15, 0.0
    else:
        raise ValueError(f"unknown event {kind!r}; expected one of {EVENTS}")
    if len(town.buildings):  # the affected area is the truth: nothing outside it is damaged
        intensity = np.where(shapely.intersects(region, town.buildings.footprint), intensity, -1.0)
    damage = _damage(town, intensity, thresholds, noise, rng)
    if kind == "flood":
        road_loss = region
    else:
        road_loss = _road_debris(town, region, levels, road_p, rng)
    return Disaster(kind, region, levels, damage, road_loss)


def _damage(
    town: Town, intensity: np.ndarray, thresholds: tuple[float, float, float], noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Damage classes from intensity + noise; sturdier commercial buildings resist a little."""
    b = town.buildings
    score = intensity + rng.normal(0.0, noise, len(b)) - 0.1 * (b.kind == COMMERCIAL) + 0.05 * (b.kind == SHED)
    damage = np.searchsorted(np.asarray(thresholds), score, side="right").astype(np.int8)
    damage[intensity <= 0] = NO_DAMAGE
    return damage


def _nested(levels_geom: list[BaseGeometry]) -> list[tuple[float, BaseGeometry]]:
    return [(value, geom) for value, geom in zip(LEVELS, levels_geom, strict=True) if not geom.is_empty]


def _tornado(town: Town, rng: np.random.Generator):
    """A track through the town: a disc of varying radius swept along a gently curving path."""
    bounds = town.bounds
    size = min(bounds.width, bounds.height)
    heading = rng.uniform(-0.6, 0.6) + (np.pi if rng.uniform() < 0.2 else 0.0)
    through = np.array(town.centre) + rng.uniform(-0.15, 0.15, 2) * size
    reach = np.hypot(bounds.width, bounds.height)
    direction = np.array([np.cos(heading), np.sin(heading)])
    path = wavy_line(
        through - reach * direction,
        through + reach * direction,
        rng,
        amplitude_m=0.05 * reach,
        vertices=41,
        harmonics=2,
    )
    base = np.clip(0.14 * size, 50.0, 800.0)
    radius = base * (1.0 + 0.35 * np.sin(np.linspace(0, rng.uniform(2, 6), len(path)) + rng.uniform(0, 6.3)))
    box = shapely.box(*bounds)
    line = shapely.LineString(path)
    # intensity 1.2 - distance / radius: 0.2 on the track edge, 1 within 0.2 radius of the path
    levels = [shapely.intersection(variable_buffer(path, radius * (1.2 - v)), box) for v in LEVELS]
    centres = shapely.centroid(town.buildings.footprint)
    along = shapely.line_locate_point(line, centres)
    cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    local_radius = np.interp(along, cumulative, radius)
    intensity = np.clip(1.2 - shapely.distance(centres, line) / local_radius, -1.0, 1.0)
    return levels[0], _nested(levels), intensity


def _fire(town: Town, rng: np.random.Generator):
    """A wind-stretched irregular burn scar over part of the town."""
    bounds = town.bounds
    size = min(bounds.width, bounds.height)
    radius = float(np.clip(0.22 * size, 80.0, 2500.0))
    centre = np.array(town.centre) + rng.uniform(-0.2, 0.2, 2) * size
    scar = shapely.intersection(
        blob(
            tuple(centre),
            radius,
            rng,
            roughness=0.6,
            vertices=160,
            stretch=rng.uniform(1.2, 1.8),
            angle=rng.uniform(0, np.pi),
        ),
        shapely.box(*bounds),
    )
    return _inward(town, scar, 0.35 * radius)


def _flood(town: Town, rng: np.random.Generator):
    """Flood water spreading from the river over a band of varying width."""
    bounds = town.bounds
    path = town.river_line
    size = min(bounds.width, bounds.height)
    base = float(np.clip(0.12 * size, 60.0, 1200.0))
    radius = base * (1.0 + 0.6 * np.sin(np.linspace(0, rng.uniform(3, 8), len(path)) + rng.uniform(0, 6.3)) ** 2)
    extent = shapely.intersection(variable_buffer(path, radius), shapely.box(*bounds))
    river = shapely.union_all(town.water) if len(town.water) else shapely.Polygon()
    region = shapely.difference(extent, river)
    return _inward(town, region, 0.5 * base)


def _inward(town: Town, region: BaseGeometry, depth_m: float):
    """Levels as inward buffers of ``region`` and intensity = depth inside it / ``depth_m``."""
    levels = [shapely.buffer(region, -depth_m * (v - LEVELS[0])) for v in LEVELS]
    centres = shapely.centroid(town.buildings.footprint)
    inside = shapely.contains(region, centres) if len(centres) else np.zeros(0, bool)
    depth = shapely.distance(centres, region.boundary) if len(centres) else np.zeros(0)
    intensity = np.where(inside, np.clip(0.2 + depth / depth_m, 0.0, 1.0), -1.0)
    return region, _nested(levels), intensity


def _road_debris(
    town: Town, region: BaseGeometry, levels: list[tuple[float, BaseGeometry]], p_max: float, rng: np.random.Generator
) -> BaseGeometry:
    """Blobs of debris (fallen trees, rubble, smoke) covering roads inside the region."""
    roads = shapely.intersection(town.road_line, region)
    pieces, widths = [], []
    for line, width in zip(roads, town.road_width_m, strict=True):
        for part in shapely.get_parts(line):
            if shapely.get_type_id(part) == 1 and part.length > 0:
                count = int(part.length // 20) + 1
                pieces.append(shapely.line_interpolate_point(part, (np.arange(count) + 0.5) / count, normalized=True))
                widths.append(np.full(count, width))
    if not pieces:
        return shapely.Polygon()
    points = np.concatenate(pieces)
    width = np.concatenate(widths)
    level = np.zeros(len(points))
    for value, geom in levels:
        level = np.where(shapely.contains(geom, points), value, level)
    keep = rng.uniform(size=len(points)) < p_max * level
    blobs = [
        blob((p.x, p.y), w * rng.uniform(0.4, 0.9), rng, roughness=0.5, vertices=24)
        for p, w in zip(points[keep], width[keep], strict=True)
    ]
    return shapely.union_all(blobs) if blobs else shapely.Polygon()


def lost_fraction(town: Town, road_loss: BaseGeometry) -> np.ndarray:
    """Fraction of each road centre line's length that lies in the lost area."""
    if road_loss.is_empty or len(town.road_line) == 0:
        return np.zeros(len(town.road_line))
    return np.clip(
        shapely.length(shapely.intersection(town.road_line, road_loss)) / shapely.length(town.road_line), 0.0, 1.0
    )


def scene_bounds(width: int, height: int, gsd_m: float, origin: tuple[float, float]) -> Bounds:
    """Bounds of a ``width`` x ``height`` px scene whose upper-left corner is ``origin``."""
    return Bounds(origin[0], origin[1] - height * gsd_m, origin[0] + width * gsd_m, origin[1])
