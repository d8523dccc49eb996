"""Vectorised shape builders for the synthetic scene (map units are metres)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def rectangles(centre: np.ndarray, axis_u: np.ndarray, half_u: np.ndarray, half_v: np.ndarray) -> np.ndarray:
    """Oriented rectangles: centres (n, 2), unit long axes (n, 2), half sizes along u and its normal v."""
    centre = np.asarray(centre, dtype=np.float64).reshape(-1, 2)
    u = np.asarray(axis_u, dtype=np.float64).reshape(-1, 2) * np.asarray(half_u, dtype=np.float64).reshape(-1, 1)
    v = np.stack([-axis_u[..., 1], axis_u[..., 0]], axis=-1).reshape(-1, 2) * np.asarray(
        half_v, dtype=np.float64
    ).reshape(-1, 1)
    corners = np.stack([centre - u - v, centre + u - v, centre + u + v, centre - u + v, centre - u - v], axis=1)
    return shapely.polygons(corners)


def translate(geoms: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Translate each geometry by its own offset (n, 2)."""
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return geoms.copy()
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    return shapely.set_coordinates(shapely.transform(geoms, lambda xy: xy), coords + np.asarray(offsets)[index])


def prism_shadows(footprints: np.ndarray, heights_m: np.ndarray, shadow_dir: tuple[float, float]) -> np.ndarray:
    """Ground shadows of vertical prisms, as polygons to burn (several may belong to one prism).

    A convex footprint casts the hull of itself and its copy moved by
    height * ``shadow_dir``; a concave one casts its moved copy plus the
    quadrilateral swept by each exterior edge.
    """
    footprints = np.asarray(footprints, dtype=object)
    if footprints.size == 0:
        return footprints.copy()
    offsets = np.asarray(heights_m, dtype=np.float64)[:, None] * np.asarray(shadow_dir, dtype=np.float64)[None, :]
    moved = translate(footprints, offsets)
    convex = shapely.area(shapely.convex_hull(footprints)) - shapely.area(footprints) < 1e-6
    shadows = [shapely.convex_hull(shapely.union(footprints[convex], moved[convex])), moved[~convex]]
    if (~convex).any():
        rings = shapely.get_exterior_ring(footprints[~convex])
        coords, index = shapely.get_coordinates(rings, return_index=True)
        same = index[1:] == index[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        shift = offsets[~convex][index[:-1][same]]
        shadows.append(shapely.polygons(np.stack([a, b, b + shift, a + shift, a], axis=1)))
    return np.concatenate(shadows)


def blob(
    centre: tuple[float, float],
    radius_m: float,
    rng: np.random.Generator,
    *,
    roughness: float = 0.25,
    vertices: int = 48,
    stretch: float = 1.0,
    angle: float = 0.0,
) -> shapely.Polygon:
    """An irregular closed blob (sum of random harmonics of the radius), optionally stretched and rotated."""
    theta = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 7):
        radius += roughness / k * rng.uniform(0.3, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = radius_m * radius * np.cos(theta) * stretch
    y = radius_m * radius * np.sin(theta)
    ca, sa = np.cos(angle), np.sin(angle)
    ring = np.stack([centre[0] + ca * x - sa * y, centre[1] + sa * x + ca * y], axis=1)
    return shapely.make_valid(shapely.Polygon(ring))


def variable_buffer(points: np.ndarray, radii_m: np.ndarray) -> BaseGeometry:
    """The area swept by a disc moving along ``points`` (n, 2) with radius varying linearly between them."""
    discs = shapely.buffer(shapely.points(points), radii_m, quad_segs=12)
    hulls = shapely.convex_hull(shapely.union(discs[:-1], discs[1:]))
    return shapely.union_all(hulls)


def wavy_line(
    start: np.ndarray,
    end: np.ndarray,
    rng: np.random.Generator,
    *,
    amplitude_m: float,
    vertices: int = 40,
    harmonics: int = 3,
) -> np.ndarray:
    """Vertices (n, 2) of a smooth meandering line from ``start`` to ``end`` (ends stay on the chord)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    t = np.linspace(0.0, 1.0, vertices)
    chord = end - start
    normal = np.array([-chord[1], chord[0]]) / max(np.hypot(*chord), 1e-9)
    offset = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        offset += amplitude_m / k * rng.uniform(0.4, 1.0) * np.sin(np.pi * k * t + rng.uniform(0, 2 * np.pi))
    offset -= offset[0] + (offset[-1] - offset[0]) * t
    return start + t[:, None] * chord + offset[:, None] * normal
