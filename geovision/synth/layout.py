"""The vector town: arterial roads, blocks, local streets, buildings, water and land cover.

Everything is generated as shapely geometry in map metres from one seeded
``numpy.random.Generator``; for a 20000 px scene this is a few hundred thousand
small polygons, so the raster is rendered from it window by window afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geovision.synth import palette
from geovision.synth.shapes import blob, rectangles, wavy_line
from geovision.types import Bounds

ARTERIAL, LOCAL = 1, 2
HOUSE, SHED, COMMERCIAL, FARM = 1, 2, 3, 4
MAX_BRIDGE_M = 150.0
KIND_INDEX = {name: i for i, name in enumerate(palette.GROUND_KINDS)}


@dataclass
class Buildings:
    """Building footprints and their rendering attributes (parallel arrays)."""

    footprint: np.ndarray  # shapely Polygons
    kind: np.ndarray  # HOUSE, SHED, COMMERCIAL, FARM
    height_m: np.ndarray
    roof_rgb: np.ndarray  # (n, 3) float32
    gable: np.ndarray  # bool: pitched roof with a ridge
    ridge_dir: np.ndarray  # (n, 2) unit vector along the ridge
    centre: np.ndarray  # (n, 2) centre of the main rectangle
    half_span_m: np.ndarray  # half width across the ridge

    def __len__(self) -> int:
        return len(self.footprint)

    def subset(self, keep: np.ndarray) -> Buildings:
        return Buildings(**{name: value[keep] for name, value in vars(self).items()})

    @classmethod
    def concat(cls, parts: list[Buildings]) -> Buildings:
        parts = [p for p in parts if len(p)] or [cls.empty()]
        return cls(**{name: np.concatenate([vars(p)[name] for p in parts]) for name in vars(parts[0])})

    @classmethod
    def empty(cls) -> Buildings:
        return cls(
            np.empty(0, dtype=object),
            np.empty(0, np.int8),
            np.empty(0),
            np.empty((0, 3), np.float32),
            np.empty(0, bool),
            np.empty((0, 2)),
            np.empty((0, 2)),
            np.empty(0),
        )


@dataclass
class Town:
    """The whole vector scene of one date before the event."""

    bounds: Bounds
    road_line: np.ndarray  # LineStrings (centre lines)
    road_width_m: np.ndarray
    road_kind: np.ndarray  # ARTERIAL or LOCAL
    buildings: Buildings
    water: np.ndarray  # Polygons (river, ponds)
    river_line: np.ndarray | None  # (n, 2) centre line vertices of the river, if any
    paved: np.ndarray  # Polygons: driveways, parking lots
    cover: np.ndarray  # land cover Polygons
    cover_kind: np.ndarray  # index into palette.GROUND_KINDS
    cover_trees: np.ndarray  # tree density 0..1
    centre: tuple[float, float] = (0.0, 0.0)  # town centre
    road_poly: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        caps = np.where(self.road_kind == ARTERIAL, "flat", "round")
        self.road_poly = np.array(
            [
                shapely.buffer(line, w / 2, cap_style=c)
                for line, w, c in zip(self.road_line, self.road_width_m, caps, strict=True)
            ],
            dtype=object,
        )


def build_town(bounds: Bounds, rng: np.random.Generator, *, river: bool) -> Town:
    """Generate the town inside ``bounds`` (metres); ``river`` forces a river across the scene."""
    width_m, height_m = bounds.width, bounds.height
    box = shapely.box(*bounds)
    centre = (bounds.xmin + width_m * rng.uniform(0.3, 0.7), bounds.ymin + height_m * rng.uniform(0.3, 0.7))
    arterials = _arterials(bounds, rng)
    river_line = _river(bounds, rng) if (river or rng.uniform() < 0.6) else None
    water = []
    if river_line is not None:
        water.append(shapely.buffer(shapely.LineString(river_line), rng.uniform(10, 25), quad_segs=8))
    blocks = shapely.get_parts(
        shapely.polygonize(
            shapely.get_parts(
                shapely.union_all([shapely.intersection(line, box) for line in arterials] + [box.boundary])
            )
        )
    )
    blocks = blocks[shapely.area(blocks) > 1.0]
    # polygonize order is an implementation detail: sort blocks for determinism
    blocks = blocks[np.lexsort((shapely.get_x(shapely.centroid(blocks)), -shapely.get_y(shapely.centroid(blocks))))]
    town_radius = max(1200.0, 0.35 * min(width_m, height_m))
    parts, streets, paved, cover, cover_kind, cover_trees = [], [], [], [], [], []
    for block in blocks:
        inner = shapely.buffer(block, -9.0)
        if inner.is_empty:
            continue
        dist = np.hypot(*(np.array(block.centroid.coords[0]) - centre)) / town_radius
        use = _land_use(dist, rng)
        if use in ("residential", "commercial"):
            s, b, p = _developed_block(block, inner, use, rng)
            streets += s
            parts.append(b)
            paved += p
            kind, trees = ("lawn", rng.uniform(0.12, 0.3)) if use == "residential" else ("dry_grass", 0.04)
            cover.append(inner), cover_kind.append(KIND_INDEX[kind]), cover_trees.append(trees)
        elif use == "park":
            cover.append(inner), cover_kind.append(KIND_INDEX["lawn"]), cover_trees.append(rng.uniform(0.3, 0.5))
            if rng.uniform() < 0.5:
                water.append(_pond(inner, rng))
        elif use == "forest":
            (
                cover.append(inner),
                cover_kind.append(KIND_INDEX["forest_floor"]),
                cover_trees.append(rng.uniform(0.7, 0.9)),
            )
        else:
            fields = _fields(inner, rng)
            cover += fields
            cover_kind += [
                KIND_INDEX[rng.choice(["crop_green", "crop_yellow", "bare_soil", "dry_grass"])] for _ in fields
            ]
            cover_trees += [0.02] * len(fields)
            if rng.uniform() < 0.35:
                parts.append(_farmstead(inner, rng))
    water = np.array(water, dtype=object)
    buildings = Buildings.concat(parts)
    road_line, road_width, road_kind = _road_table(arterials, streets, water, box, rng)
    town = Town(
        bounds,
        road_line,
        road_width,
        road_kind,
        buildings,
        water,
        river_line,
        np.array(paved, dtype=object),
        np.array(cover, dtype=object),
        np.array(cover_kind, np.int8),
        np.array(cover_trees, np.float32),
        centre,
    )
    town.buildings = _drop_conflicts(town)
    return town


def _land_use(dist: float, rng: np.random.Generator) -> str:
    """Land use of a block at normalised distance ``dist`` from the town centre."""
    if rng.uniform() < np.exp(-(dist**2)):
        if dist < 0.3 and rng.uniform() < 0.5:
            return "commercial"
        return rng.choice(["residential"] * 10 + ["commercial", "park"])
    return rng.choice(["forest", "forest", "fields", "fields", "fields", "park"])


def _arterials(bounds: Bounds, rng: np.random.Generator) -> list[shapely.LineString]:
    """Slightly wavy arterial roads crossing the scene in two directions (plus maybe a diagonal)."""
    lines = []
    pad = 50.0
    for axis, span, other in ((0, bounds.width, bounds.height), (1, bounds.height, bounds.width)):
        count = max(1, int(round(span / rng.uniform(450, 750))))
        step = span / count
        for i in range(count):
            pos = (i + 0.5 + rng.uniform(-0.25, 0.25)) * step
            tilt = rng.uniform(-0.06, 0.06) * other
            if axis == 0:
                start = (bounds.xmin + pos - tilt / 2, bounds.ymin - pad)
                end = (bounds.xmin + pos + tilt / 2, bounds.ymax + pad)
            else:
                start = (bounds.xmin - pad, bounds.ymin + pos - tilt / 2)
                end = (bounds.xmax + pad, bounds.ymin + pos + tilt / 2)
            lines.append(
                shapely.LineString(
                    wavy_line(start, end, rng, amplitude_m=min(30.0, 0.02 * other), vertices=max(8, int(other / 60)))
                )
            )
    if rng.uniform() < 0.4:
        start = (bounds.xmin - pad, bounds.ymin + rng.uniform(0, 0.5) * bounds.height)
        end = (bounds.xmax + pad, bounds.ymax - rng.uniform(0, 0.5) * bounds.height)
        lines.append(shapely.LineString(wavy_line(start, end, rng, amplitude_m=0.05 * bounds.width, vertices=60)))
    return lines


def _river(bounds: Bounds, rng: np.random.Generator) -> np.ndarray:
    """Centre line vertices of a meandering river entering on one side and leaving on the opposite."""
    pad = 100.0
    if rng.uniform() < 0.5:
        start = (bounds.xmin - pad, bounds.ymin + rng.uniform(0.2, 0.8) * bounds.height)
        end = (bounds.xmax + pad, bounds.ymin + rng.uniform(0.2, 0.8) * bounds.height)
    else:
        start = (bounds.xmin + rng.uniform(0.2, 0.8) * bounds.width, bounds.ymin - pad)
        end = (bounds.xmin + rng.uniform(0.2, 0.8) * bounds.width, bounds.ymax + pad)
    length = np.hypot(end[0] - start[0], end[1] - start[1])
    return wavy_line(start, end, rng, amplitude_m=0.12 * length, vertices=max(40, int(length / 25)), harmonics=5)


def _pond(inner: shapely.Polygon, rng: np.random.Generator) -> shapely.Polygon:
    """A pond inside a park block."""
    point = inner.representative_point()
    radius = min(rng.uniform(15, 50), 0.3 * np.sqrt(inner.area))
    return shapely.intersection(blob((point.x, point.y), radius, rng, roughness=0.4), inner)


def _fields(inner: shapely.Polygon, rng: np.random.Generator) -> list[shapely.Polygon]:
    """Split a rural block into parallel field strips."""
    angle = rng.uniform(0, np.pi)
    u = np.array([np.cos(angle), np.sin(angle)])
    c = np.array(inner.centroid.coords[0])
    size = np.hypot(*(np.array(inner.bounds[2:]) - inner.bounds[:2])) + 10
    offsets = np.cumsum(rng.uniform(60, 220, int(size / 60) + 2)) - size / 2
    edges = np.concatenate([[-size / 2 - 1], offsets[offsets < size / 2], [size / 2 + 1]])
    mids, halves = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    strips = rectangles(
        c + mids[:, None] * np.array([-u[1], u[0]]), np.tile(u, (len(mids), 1)), np.full(len(mids), size / 2), halves
    )
    fields = shapely.get_parts(shapely.intersection(strips, inner))
    return [f for f in fields if isinstance(f, shapely.Polygon) and f.area > 50]


def _street_grid(
    block: shapely.Polygon, rng: np.random.Generator, across_m: float, along_m: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Straight local street segments (start, end) of a grid clipped to ``block``."""
    rect = shapely.minimum_rotated_rectangle(block)
    xy = np.asarray(rect.exterior.coords)[:2]
    angle = np.arctan2(*(xy[1] - xy[0])[::-1]) + (rng.uniform(0, np.pi) if rng.uniform() < 0.2 else 0.0)
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-u[1], u[0]])
    c = np.array(block.centroid.coords[0])
    size = np.hypot(*(np.array(block.bounds[2:]) - block.bounds[:2])) / 2 + 10
    segments = []
    for direction, normal, step in ((u, v, across_m), (v, u, along_m)):
        first = rng.uniform(0.4, 0.8) * step - size
        for offset in np.arange(first, size, step):
            line = shapely.LineString([c + offset * normal - size * direction, c + offset * normal + size * direction])
            for piece in shapely.get_parts(shapely.intersection(line, block)):
                if isinstance(piece, shapely.LineString) and piece.length > 40:
                    xy = np.asarray(piece.coords)
                    segments.append((xy[0], xy[-1]))
    return segments


def _developed_block(
    block: shapely.Polygon, inner: shapely.Polygon, use: str, rng: np.random.Generator
) -> tuple[list, Buildings, list]:
    """Local streets, buildings and paved areas of a residential or commercial block."""
    residential = use == "residential"
    across, along = (
        (rng.uniform(75, 115), rng.uniform(160, 280)) if residential else (rng.uniform(130, 180), rng.uniform(220, 320))
    )
    segments = _street_grid(block, rng, across, along)
    roofs = palette.ROOF_PALETTES[rng.integers(len(palette.ROOF_PALETTES))]
    width = rng.uniform(7, 9) if residential else rng.uniform(9, 12)
    parts, paved = [], []
    for start, end in segments:
        if residential:
            b, p = _houses_along(start, end, width, roofs, rng)
        else:
            b, p = _commercial_along(start, end, width, rng)
        parts.append(b)
        paved += p
    return [(start, end, width) for start, end in segments], Buildings.concat(parts), paved


def _slots(
    length: float, rng: np.random.Generator, size: tuple[float, float], gap: tuple[float, float], margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (lot starts) and frontages of lots along a street of ``length``."""
    n = int(length / (size[0] + gap[0])) + 1
    widths = rng.uniform(*size, n)
    gaps = rng.uniform(*gap, n)
    starts = margin + np.concatenate([[0.0], np.cumsum(widths + gaps)[:-1]])
    keep = starts + widths < length - margin
    return starts[keep], widths[keep]


@dataclass
class _Lots:
    """Building lots on one side of a straight street: frontage ``w``, building ``depth``, ``setback``."""

    side: float
    u: np.ndarray  # unit vector along the street
    v: np.ndarray  # unit normal
    start: np.ndarray  # lot starts along the street (m from its start point)
    w: np.ndarray
    depth: np.ndarray
    setback: np.ndarray
    along: np.ndarray  # (n, 2) lot centres on the street centre line
    centre: np.ndarray  # (n, 2) building centres

    @property
    def n(self) -> int:
        return len(self.start)

    @property
    def uu(self) -> np.ndarray:
        return np.tile(self.u, (self.n, 1))


def _lots_along(
    start: np.ndarray,
    end: np.ndarray,
    road_w: float,
    rng: np.random.Generator,
    *,
    frontage: tuple[float, float],
    gap: tuple[float, float],
    margin: float,
    depth: tuple[float, float],
    setback: tuple[float, float],
) -> list[_Lots]:
    """Lots on both sides of the street from ``start`` to ``end`` (sides without room are left out)."""
    length = np.hypot(*(end - start))
    u = (end - start) / length
    v = np.array([-u[1], u[0]])
    lots = []
    for side in (-1.0, 1.0):
        s, w = _slots(length, rng, frontage, gap, margin)
        n = len(s)
        if n == 0:
            continue
        d, b = rng.uniform(*depth, n), rng.uniform(*setback, n)
        along = start + (s + w / 2)[:, None] * u
        centre = along + (side * (road_w / 2 + b + d / 2))[:, None] * v
        lots.append(_Lots(side, u, v, s, w, d, b, along, centre))
    return lots


def _houses_along(
    start: np.ndarray, end: np.ndarray, road_w: float, roofs: tuple[tuple[int, int, int], ...], rng: np.random.Generator
) -> tuple[Buildings, list]:
    """Houses (some L-shaped, some with a shed) and driveways on both sides of a street."""
    out, paved = [], []
    for lot in _lots_along(
        start, end, road_w, rng, frontage=(10, 17), gap=(3, 9), margin=12.0, depth=(8, 14), setback=(5, 11)
    ):
        n, u, v, w, side, uu = lot.n, lot.u, lot.v, lot.w, lot.side, lot.uu
        main = rectangles(lot.centre, uu, w / 2, lot.depth / 2)
        wing = rng.uniform(size=n) < 0.3
        if wing.any():
            ww = rng.uniform(0.35, 0.6, n) * w
            dw = rng.uniform(3, 6, n)
            shift = rng.choice([-1.0, 1.0], n) * (w - ww) / 2
            wc = lot.centre + shift[:, None] * u + (side * (lot.depth / 2 + dw / 2 - 0.5))[:, None] * v
            main = np.where(wing, shapely.union(main, rectangles(wc, uu, ww / 2, dw / 2)), main)
        ridge_along = w >= lot.depth
        ridge = np.where(ridge_along[:, None], uu, np.tile(v, (n, 1)))
        colours = np.asarray(roofs, np.float32)[rng.integers(len(roofs), size=n)] * rng.uniform(0.9, 1.1, (n, 1))
        out.append(
            Buildings(
                main,
                np.full(n, HOUSE, np.int8),
                rng.uniform(4, 8, n),
                colours.astype(np.float32),
                rng.uniform(size=n) < 0.8,
                ridge,
                lot.centre,
                np.where(ridge_along, lot.depth, w) / 2,
            )
        )
        drive_at = start + (lot.start + w * rng.uniform(0.2, 0.8, n))[:, None] * u
        drive_c = drive_at + (side * (road_w / 2 + lot.setback / 2 + 0.25))[:, None] * v
        paved += list(rectangles(drive_c, np.tile(v, (n, 1)), lot.setback / 2 + 0.25, np.full(n, 1.7)))
        shed = rng.uniform(size=n) < 0.35
        if shed.any():
            a = rng.uniform(2.5, 5, n)
            sc = (
                lot.centre
                + (side * (lot.depth / 2 + rng.uniform(4, 9, n) + a / 2))[:, None] * v
                + (rng.uniform(-0.4, 0.4, n) * w)[:, None] * u
            )
            shed_roofs = np.asarray(roofs, np.float32)[rng.integers(len(roofs), size=n)]
            out.append(
                Buildings(
                    rectangles(sc, uu, a / 2, a / 2),
                    np.full(n, SHED, np.int8),
                    rng.uniform(2.2, 3.0, n),
                    shed_roofs,
                    np.zeros(n, bool),
                    uu,
                    sc,
                    a / 2,
                ).subset(shed)
            )
    return Buildings.concat(out), paved


def _commercial_along(
    start: np.ndarray, end: np.ndarray, road_w: float, rng: np.random.Generator
) -> tuple[Buildings, list]:
    """Large flat-roofed buildings with parking lots in front, on both sides of a street."""
    out, paved = [], []
    for lot in _lots_along(
        start, end, road_w, rng, frontage=(22, 65), gap=(8, 25), margin=15.0, depth=(16, 42), setback=(10, 32)
    ):
        n, uu = lot.n, lot.uu
        roofs = np.asarray(palette.COMMERCIAL_ROOFS, np.float32)[rng.integers(len(palette.COMMERCIAL_ROOFS), size=n)]
        out.append(
            Buildings(
                rectangles(lot.centre, uu, lot.w / 2, lot.depth / 2),
                np.full(n, COMMERCIAL, np.int8),
                rng.uniform(5, 14, n),
                roofs,
                np.zeros(n, bool),
                uu,
                lot.centre,
                lot.depth / 2,
            )
        )
        park = lot.along + (lot.side * (road_w / 2 + 1.0 + (lot.setback - 1.5) / 2))[:, None] * lot.v
        paved += list(rectangles(park, uu, lot.w / 2 + rng.uniform(0, 8, n), (lot.setback - 1.5) / 2))
    return Buildings.concat(out), paved


def _farmstead(inner: shapely.Polygon, rng: np.random.Generator) -> Buildings:
    """A farm house and one or two barns near a point of a rural block."""
    p = inner.representative_point()
    n = int(rng.integers(2, 4))
    centre = np.array([p.x, p.y]) + rng.uniform(-30, 30, (n, 2))
    angle = rng.uniform(0, np.pi)
    uu = np.tile([np.cos(angle), np.sin(angle)], (n, 1))
    half_u, half_v = rng.uniform(5, 18, n), rng.uniform(4, 9, n)
    roofs = np.asarray(palette.FARM_ROOFS, np.float32)[rng.integers(len(palette.FARM_ROOFS), size=n)]
    return Buildings(
        rectangles(centre, uu, half_u, half_v),
        np.full(n, FARM, np.int8),
        rng.uniform(4, 9, n),
        roofs,
        np.ones(n, bool),
        uu,
        centre,
        half_v,
    )


def _road_table(
    arterials: list, streets: list, water: np.ndarray, box: shapely.Polygon, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Road centre lines split at junctions (arterials) and off water (local streets)."""
    art = shapely.get_parts(shapely.intersection(shapely.get_parts(shapely.union_all(arterials)), box))
    wet = shapely.buffer(shapely.union_all(water), 4.0) if len(water) else None
    if wet is not None:  # keep short crossings as bridges, drop roads running along the water
        wet_parts = shapely.get_parts(shapely.intersection(art, wet))
        bridges = wet_parts[(shapely.get_type_id(wet_parts) == 1) & (shapely.length(wet_parts) < MAX_BRIDGE_M)]
        art = np.concatenate([shapely.get_parts(shapely.difference(art, wet)), bridges])
        art = shapely.get_parts(shapely.line_merge(shapely.union_all(art)))
    art = art[(shapely.get_type_id(art) == 1) & (shapely.length(art) > 1.0)]
    local, local_w = [], []
    for start, end, width in streets:
        line = shapely.LineString([start, end])
        if wet is not None:
            line = shapely.difference(line, wet)
        for piece in shapely.get_parts(shapely.intersection(line, box)):
            if shapely.get_type_id(piece) == 1 and piece.length > 20:
                local.append(piece)
                local_w.append(width)
    lines = np.concatenate([art, np.array(local, dtype=object)])
    width = np.concatenate([rng.uniform(13, 17, len(art)), np.array(local_w, dtype=np.float64)])
    kind = np.concatenate([np.full(len(art), ARTERIAL, np.int8), np.full(len(local), LOCAL, np.int8)])
    return lines, width, kind


def _drop_conflicts(town: Town) -> Buildings:
    """Remove buildings on roads, in water, outside the scene, or overlapping an earlier building."""
    b = town.buildings
    if len(b) == 0:
        return b
    fp = b.footprint
    bad = np.zeros(len(b), bool)
    inside = shapely.contains(shapely.box(*town.bounds), fp)
    bad |= ~inside
    for obstacles, gap in ((town.road_poly, 1.5), (town.water, 3.0)):
        if len(obstacles):
            hits = shapely.STRtree(fp).query(obstacles, predicate="dwithin", distance=gap)[1]
            bad[hits] = True
    left, right = shapely.STRtree(fp).query(fp, predicate="dwithin", distance=1.0)
    pairs = left < right
    order = np.lexsort((right[pairs], left[pairs]))
    for i, j in zip(left[pairs][order], right[pairs][order], strict=True):
        if not bad[i]:
            bad[j] = True
    return b.subset(~bad)
