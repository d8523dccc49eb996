"""Painting the pre- and post-event RGB images and the truth masks, one window at a time.

Each window is rendered with a halo (so blur and neighbourhood effects are
seamless), from the vector layers that intersect it and from noise that
depends only on global pixel coordinates: the result does not depend on how
the scene is cut into windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from scipy import ndimage

from geovision.synth import palette as pal
from geovision.synth.events import DESTROYED, MAJOR, MINOR, Disaster
from geovision.synth.layout import ARTERIAL, COMMERCIAL, KIND_INDEX, Town
from geovision.synth.noise import Grain, crowns, fbm, value_noise
from geovision.synth.raster import Frame, Layer
from geovision.synth.shapes import prism_shadows
from geovision.types import PixelWindow

HALO_PX = 6
TREE_CELL_M = 7.0  # one crown at most per 7 m cell: crowns 5-9 m wide
TREE_HEIGHT_M = 7.0


@dataclass(frozen=True)
class Look:
    """Acquisition conditions of one date."""

    sun_azimuth_deg: float  # direction the sun shines from, clockwise from north
    sun_elevation_deg: float
    shift_px: tuple[float, float]  # misregistration (dx, dy) of the image against the truth grid
    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    contrast: float  # 0 = linear; >0 brightens mid tones (polynomial gamma)
    haze: float  # 0..1 peak haze opacity
    blur_px: float
    noise_dn: float
    seed: int

    @property
    def sun_dir(self) -> np.ndarray:
        """Horizontal unit vector pointing towards the sun (map x east, y north)."""
        a = np.radians(self.sun_azimuth_deg)
        return np.array([np.sin(a), np.cos(a)])

    @property
    def shadow_dir(self) -> tuple[float, float]:
        """Shadow displacement on the ground per metre of object height."""
        length = 1.0 / np.tan(np.radians(self.sun_elevation_deg))
        return tuple(-self.sun_dir * length)


def draw_looks(rng: np.random.Generator, seed: int) -> dict[str, Look]:
    """Acquisition conditions: a clean pre image; a post image from another pass (sun, colour, haze, shift)."""
    azimuth = float(rng.uniform(120, 170))
    pre = Look(
        azimuth, float(rng.uniform(45, 65)), (0.0, 0.0), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), 0.0, 0.0, 0.6, 2.0, seed
    )
    angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 2.0)
    shift = (round(float(radius * np.cos(angle)), 3), round(float(radius * np.sin(angle)), 3))
    gain = rng.uniform(0.9, 1.1) * (1.0 + rng.uniform(-0.04, 0.04, 3))  # brightness x slight tint
    post = Look(
        azimuth + float(rng.uniform(-25, 25)),
        float(rng.uniform(40, 70)),
        shift,
        tuple(float(g) for g in gain),
        tuple(float(o) for o in rng.uniform(-5, 5, 3)),
        float(rng.uniform(-0.1, 0.25)),
        float(rng.uniform(0.08, 0.3)),
        float(rng.uniform(0.6, 0.9)),
        float(rng.uniform(2.5, 4.0)),
        seed + 1,
    )
    return {"pre": pre, "post": post}


class SceneRenderer:
    """Renders windows of the pre/post images and masks of one synthetic event."""

    def __init__(
        self, town: Town, disaster: Disaster, looks: dict[str, Look], transform: Affine, gsd_m: float, seed: int
    ):
        self.town, self.disaster, self.looks = town, disaster, looks
        self.transform, self.gsd_m, self.seed = transform, gsd_m, seed
        b = town.buildings
        ids = np.arange(1, len(b) + 1)
        road_order = np.argsort(-town.road_kind, kind="stable")  # local first, arterials on top
        self.roads = Layer(town.road_poly[road_order], town.road_kind[road_order])
        self.marks = Layer(_lane_marks(town), all_touched=True)
        self.water = Layer(town.water)
        self.paved = Layer(town.paved)
        self.cover_kind = Layer(town.cover, town.cover_kind)
        self.cover_trees = Layer(town.cover, town.cover_trees)
        self.buildings = Layer(b.footprint, ids)
        self.standing = Layer(b.footprint[~disaster.lost])
        self.road_loss = Layer(shapely.get_parts(disaster.road_loss))
        spill_m = np.select([disaster.damage == DESTROYED, disaster.damage == MAJOR], [2.5, 1.2], 0.0)
        self.spill = Layer(shapely.buffer(b.footprint[spill_m > 0], spill_m[spill_m > 0], quad_segs=2))
        self.levels = Layer([g for _, g in disaster.levels], [v for v, _ in disaster.levels])
        post_height = b.height_m * np.select([disaster.damage == DESTROYED, disaster.damage == MAJOR], [0.0, 0.4], 1.0)
        self.shadows = {
            "pre": Layer(prism_shadows(b.footprint, b.height_m, looks["pre"].shadow_dir)),
            "post": Layer(
                prism_shadows(b.footprint[post_height > 0], post_height[post_height > 0], looks["post"].shadow_dir)
            ),
        }
        # per-building tables indexed by raster id (0 = no building)
        self.roof_rgb = np.vstack([np.zeros((1, 3), np.float32), b.roof_rgb]).astype(np.float32)
        self.gable = np.concatenate([[False], b.gable])
        self.flat_kind = np.concatenate([[False], b.kind == COMMERCIAL])
        self.normal = np.vstack([[0.0, 0.0], np.column_stack([-b.ridge_dir[:, 1], b.ridge_dir[:, 0]])])
        self.centre = np.vstack([[0.0, 0.0], b.centre])
        self.half_span = np.concatenate([[1.0], b.half_span_m])
        self.damage = np.concatenate([[0], disaster.damage]).astype(np.int8)
        self.grain = {date: Grain(look.seed) for date, look in looks.items()}

    # ------------------------------------------------------------------ masks
    def masks(self, window: PixelWindow) -> dict[str, np.ndarray]:
        """True-geometry 0/1 masks of the window: buildings/roads before and after."""
        frame = Frame(window, self.transform)
        roads_pre = (self.roads.burn(frame) > 0).astype(np.uint8)
        return {
            "buildings_pre": (self.buildings.burn(frame, dtype="int32") > 0).astype(np.uint8),
            "buildings_post": self.standing.burn(frame),
            "roads_pre": roads_pre,
            "roads_post": roads_pre & (1 - self.road_loss.burn(frame)),
        }

    # ------------------------------------------------------------------ images
    def image(self, date: str, window: PixelWindow) -> np.ndarray:
        """The uint8 RGB image (3, h, w) of ``date`` ("pre" or "post") over ``window``."""
        look = self.looks[date]
        px = 1.0 / self.gsd_m  # pixels per metre
        halo = HALO_PX + int(np.ceil(np.abs(_shadow_px(look, TREE_HEIGHT_M * px)).max()))
        frame = Frame(window, self.transform, halo, look.shift_px)
        post = date == "post"
        rows, cols = frame.rows, frame.cols
        s = self.seed
        level = self.levels.burn(frame, dtype="float32") if post else np.zeros(frame.shape, np.float32)
        hit = level > 0
        kind = self.disaster.kind

        # ground
        cover = self.cover_kind.burn(frame, fill=KIND_INDEX["dry_grass"])
        low = fbm(rows, cols, 45 * px, s + 1, octaves=3)
        mid = value_noise(rows, cols, 2.5 * px, s + 2)
        fine = value_noise(rows, cols, 0.8 * px, s + 3)
        img = _lerp(pal.GROUND_A[cover], pal.GROUND_B[cover], low) * (0.88 + 0.16 * mid + 0.08 * fine)[..., None]
        if post and kind == "tornado":
            img = _lerp(img, pal.STRIPPED_GROUND, 0.55 * level)
        elif post and kind == "fire":
            burnt = _lerp(pal.SCORCH, pal.CHAR, np.clip(1.4 * low - 0.4 + 0.4 * mid, 0, 1))
            burnt *= (0.94 + 0.12 * fine)[..., None]
            img = _lerp(img, burnt, np.clip(2.2 * level, 0, 1))

        paved = self.paved.burn(frame).astype(bool)
        img[paved] = pal.CONCRETE * (0.9 + 0.1 * mid[paved] + 0.04 * fine[paved])[:, None]
        water = self.water.burn(frame).astype(bool)
        img[water] = _lerp(pal.WATER_DEEP, pal.WATER_SHALLOW, low[water] * 0.8 + 0.2 * fine[water])
        roads = self.roads.burn(frame)
        on_road = roads > 0
        for road_kind in (ARTERIAL, 2):
            sel = roads == road_kind
            img[sel] = pal.ASPHALT[road_kind] * (0.92 + 0.1 * mid[sel] + 0.05 * fine[sel])[:, None]
        marks = self.marks.burn(frame).astype(bool) & on_road
        img[marks] = _lerp(img[marks], pal.LANE_MARK, 0.75)

        # trees (round crowns, clustered) and their shadows
        ids = self.buildings.burn(frame, dtype="int32")
        density = self.cover_trees.burn(frame, fill=0.1, dtype="float32")
        density *= 0.35 + 1.3 * fbm(rows, cols, 70 * px, s + 4, octaves=2)
        if post and kind == "tornado":
            density *= 1.0 - 0.95 * level
        crown, off_x, off_y = crowns(rows, cols, TREE_CELL_M * px, s + 10, density)
        canopy = (crown > 0) & ~(on_road | paved | water | (ids > 0))
        drow, dcol = _shadow_px(look, TREE_HEIGHT_M * px)
        tree_shadow = _shifted(canopy, drow, dcol) & ~canopy & (ids == 0)
        img[tree_shadow] *= np.array([0.5, 0.52, 0.6], np.float32)
        sun_x, sun_y = look.sun_dir[0], -look.sun_dir[1]
        lit = 0.3 + 0.4 * (off_x * sun_x + off_y * sun_y) + 0.35 * crown + 0.35 * (fine - 0.5)
        leaf = _lerp(pal.TREE_DARK, pal.TREE_LIGHT, np.clip(lit, 0, 1))
        if post and kind == "fire":
            leaf = _lerp(leaf, np.array((56, 46, 40), np.float32), np.clip(2.5 * level, 0, 1))
        img[canopy] = leaf[canopy]

        # building shadows, then roofs
        shadow = self.shadows[date].burn(frame).astype(bool) & (ids == 0)
        img[shadow] *= np.array([0.46, 0.48, 0.56], np.float32)
        self._roofs(img, ids, frame, look, mid, fine)

        if post:
            self._event(img, frame, ids, level, hit, on_road, canopy & (crown > 0.3), mid, fine)
            img = _lerp(img, pal.HAZE, look.haze * fbm(rows, cols, 400 * px, s + 9, octaves=2))
            x = img / 255.0
            img = 255.0 * x * (1 + look.contrast * (1 - x))
            img = img * np.asarray(look.gain, np.float32) + np.asarray(look.offset, np.float32)

        img = np.moveaxis(img, -1, 0)
        img = ndimage.gaussian_filter(img, sigma=(0, look.blur_px, look.blur_px), truncate=3.0)
        img += look.noise_dn * self.grain[date].sample(frame.pixel_rows, frame.pixel_cols)
        return np.clip(np.rint(frame.crop(img)), 0, 255).astype(np.uint8)

    def _roofs(
        self, img: np.ndarray, ids: np.ndarray, frame: Frame, look: Look, mid: np.ndarray, fine: np.ndarray
    ) -> None:
        """Roof colours with gable shading (sunny/shaded slope, ridge), flat-roof parapets and units."""
        sel = ids > 0
        if not sel.any():
            return
        bid = ids[sel]
        x, y = frame.map_xy()
        rr, cc = np.nonzero(sel)
        dx = x[0, cc] - self.centre[bid, 0]
        dy = y[rr, 0] - self.centre[bid, 1]
        n = self.normal[bid]
        across = dx * n[:, 0] + dy * n[:, 1]
        side = np.sign(across)
        facing = side * (n @ look.sun_dir)
        frac = np.clip(np.abs(across) / self.half_span[bid], 0, 1)
        gable = self.gable[bid]
        shade = np.where(gable, 1.0 + 0.22 * facing - 0.05 * frac, 1.0)
        shade = np.where(gable & (np.abs(across) < 0.35), 1.06, shade)
        edge = _edges(ids)[sel]
        shade = np.where(edge, shade * np.where(gable, 0.9, 0.8), shade)
        units = self.flat_kind[bid] & (fine[sel] > 0.82) & ~edge
        shade = np.where(units, 1.15, shade)
        texture = 0.96 + 0.05 * mid[sel] + 0.025 * fine[sel]
        img[sel] = self.roof_rgb[bid] * (shade * texture)[:, None].astype(np.float32)

    def _event(
        self,
        img: np.ndarray,
        frame: Frame,
        ids: np.ndarray,
        level: np.ndarray,
        hit: np.ndarray,
        on_road: np.ndarray,
        tall_trees: np.ndarray,
        mid: np.ndarray,
        fine: np.ndarray,
    ) -> None:
        """Damage to roofs, debris on the ground and roads, flood water."""
        kind, s, px = self.disaster.kind, self.seed, 1.0 / self.gsd_m
        rows, cols = frame.rows, frame.cols
        chunks = value_noise(rows, cols, 1.2 * px, s + 5)
        patch = value_noise(rows, cols, 2.2 * px, s + 6)
        rubble = self._rubble(fine, chunks, patch, kind)
        damage = self.damage[ids]
        ruined = (damage == DESTROYED) | ((damage == MAJOR) & (patch < 0.62))
        if kind == "flood":
            flood = hit & ~(ids > 0) | (ruined & (patch < 0.7)) | ((damage == DESTROYED) & (ids > 0))
            ruined &= ~flood
            img[ruined] = rubble[ruined]
            ripple = np.clip(0.6 * mid + 0.4 * chunks, 0, 1)
            water = _lerp(pal.FLOOD_WATER_DARK, pal.FLOOD_WATER, ripple)
            flood &= ~(tall_trees & (patch > 0.45))
            img[flood] = water[flood]
            return
        if kind == "fire":  # standing walls and foundations outline burnt-out buildings
            walls = ruined & _edges(ids)
            img[walls] = pal.ASH * (1.0 + 0.1 * fine[walls])[:, None]
            ruined &= ~walls
        img[ruined] = rubble[ruined]
        spill = self.spill.burn(frame).astype(bool) & (ids == 0) & (chunks > 0.45)
        img[spill] = rubble[spill]
        minor = (damage == MINOR) & (patch > 0.7)
        if kind == "tornado":
            tarp = minor & (chunks > 0.5)
            img[minor & ~tarp] = rubble[minor & ~tarp]
            img[tarp] = pal.TARP * (0.9 + 0.15 * mid[tarp])[:, None]
        else:
            img[minor] = _lerp(img[minor], pal.SCORCH, 0.7)
        if kind == "tornado":
            scatter = hit & (ids == 0) & ~on_road & (chunks > 1.0 - 0.35 * level)
            img[scatter] = _lerp(img[scatter], rubble[scatter], 0.85)
        lost_road = self.road_loss.burn(frame).astype(bool)
        img[lost_road] = _lerp(rubble[lost_road], img[lost_road], 0.15 * (chunks[lost_road] > 0.7))

    def _rubble(self, fine: np.ndarray, chunks: np.ndarray, patch: np.ndarray, kind: str) -> np.ndarray:
        """Debris colour field: mixed rubble with light fragments (tornado) or ash and char (fire)."""
        if kind == "fire":
            ash = _lerp(pal.SCORCH, pal.ASH, np.clip(1.4 * patch - 0.45 + 0.15 * chunks, 0, 1))
            return ash * (0.92 + 0.16 * fine)[..., None]
        base = _lerp(pal.DEBRIS_B, pal.DEBRIS_A, np.clip(1.4 * chunks - 0.2, 0, 1))
        light = fine > 0.7
        base[light] = _lerp(base[light], pal.DEBRIS_LIGHT, 0.7)
        return base * (0.85 + 0.3 * fine)[..., None]


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """a + (b - a) * t for colours a, b (..., 3) and a per-pixel weight t (no colour axis)."""
    t = np.asarray(t, dtype=np.float32)
    if t.ndim:
        t = t[..., None]
    return (np.asarray(a, np.float32) + (np.asarray(b, np.float32) - np.asarray(a, np.float32)) * t).astype(np.float32)


def _shadow_px(look: Look, height_px: float) -> tuple[int, int]:
    """Whole-pixel (row, col) displacement of the shadow of an object ``height_px`` tall."""
    sx, sy = look.shadow_dir
    return int(round(-sy * height_px)), int(round(sx * height_px))


def _shifted(mask: np.ndarray, drow: int, dcol: int) -> np.ndarray:
    """``out[r, c] = mask[r - drow, c - dcol]``, False where that falls outside."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(drow) >= h or abs(dcol) >= w:
        return out
    out[max(drow, 0) : h + min(drow, 0), max(dcol, 0) : w + min(dcol, 0)] = mask[
        max(-drow, 0) : h + min(-drow, 0), max(-dcol, 0) : w + min(-dcol, 0)
    ]
    return out


def _edges(ids: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood contains another id."""
    edge = np.zeros(ids.shape, bool)
    edge[1:] |= ids[1:] != ids[:-1]
    edge[:-1] |= ids[:-1] != ids[1:]
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    return edge


def _lane_marks(town: Town) -> np.ndarray:
    """Dashed centre lines of arterial roads: 3 m dashes every 12 m."""
    lines = town.road_line[town.road_kind == ARTERIAL]
    dashes = []
    for line in lines:
        starts = np.arange(2.0, line.length - 3.0, 12.0)
        if starts.size == 0:
            continue
        a = shapely.line_interpolate_point(line, starts)
        b = shapely.line_interpolate_point(line, starts + 3.0)
        dashes.append(
            shapely.buffer(
                shapely.linestrings(np.stack([shapely.get_coordinates(a), shapely.get_coordinates(b)], axis=1)),
                0.08,
                cap_style="flat",
            )
        )
    return np.concatenate(dashes) if dashes else np.empty(0, dtype=object)
