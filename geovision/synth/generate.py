"""``generate_event``: one seeded synthetic disaster event written to a folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import CRSError

from geovision import __version__
from geovision.errors import ConfigError, GeoreferenceError
from geovision.io.atomic import atomic_output
from geovision.synth.census import Census, make_census, residents
from geovision.synth.events import DAMAGE_CLASSES, EVENTS, Disaster, make_disaster, scene_bounds
from geovision.synth.layout import Town, build_town
from geovision.synth.render import SceneRenderer, draw_looks
from geovision.synth.writer import IMAGES, MASKS, write_json, write_rasters, write_vectors

FILES: dict[str, str] = {
    **{name: f"{name}.tif" for name in IMAGES + MASKS},
    "buildings": "buildings.gpkg",
    "roads": "roads.gpkg",
    "affected_area": "affected_area.gpkg",
    "census": "census.gpkg",
    "event": "event.json",
}
DEFAULT_ORIGIN = (360000.0, 4110000.0)  # upper-left corner, metres (inside UTM zone 15N near Joplin)
MIN_SIZE_PX = 64
WINDOW_PX = 1024


@dataclass(frozen=True)
class SynthEvent:
    """A written synthetic event: where its files are and what it contains."""

    out_dir: Path
    width: int
    height: int
    gsd_m: float
    crs: str
    event: str
    seed: int
    shift_px: tuple[float, float]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def paths(self) -> dict[str, Path]:
        """Output name (see :data:`FILES`) -> path."""
        return {name: self.out_dir / file for name, file in FILES.items()}

    @property
    def pre(self) -> Path:
        return self.out_dir / FILES["pre"]

    @property
    def post(self) -> Path:
        return self.out_dir / FILES["post"]


def generate_event(
    out_dir: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    gsd_m: float = 0.5,
    seed: int = 0,
    event: str = "tornado",
    crs: str = "EPSG:32615",
    origin: tuple[float, float] | None = None,
    overwrite: bool = False,
    window_px: int = WINDOW_PX,
) -> SynthEvent:
    """Generate a before/after scene of ``event`` with exact ground truth into the folder ``out_dir``.

    ``origin`` is the map position of the upper-left corner (default
    :data:`DEFAULT_ORIGIN`); ``window_px`` only sets the rendering window
    (memory), never the result.
    """
    crs_obj = _check(width, height, gsd_m, seed, event, crs, window_px)
    origin = DEFAULT_ORIGIN if origin is None else (float(origin[0]), float(origin[1]))
    out_dir = Path(out_dir)
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        overwrite = True  # an empty folder is free to fill
    streams = np.random.SeedSequence(seed).spawn(5)
    rng = [np.random.Generator(np.random.PCG64(s)) for s in streams]
    bounds = scene_bounds(width, height, gsd_m, origin)
    transform = Affine(gsd_m, 0.0, origin[0], 0.0, -gsd_m, origin[1])
    with atomic_output(out_dir, overwrite=overwrite) as tmp:
        town = build_town(bounds, rng[0], river=event == "flood")
        disaster = make_disaster(town, event, rng[1])
        population = residents(town.buildings, rng[2])
        census = make_census(bounds, town.buildings, population, rng[2])
        grain_seed, noise_seed = (int(v) for v in streams[4].generate_state(2))
        looks = draw_looks(rng[3], grain_seed)
        renderer = SceneRenderer(town, disaster, looks, transform, gsd_m, noise_seed)
        tmp.mkdir()
        write_rasters(renderer, tmp, width=width, height=height, crs=crs_obj, transform=transform, window_px=window_px)
        write_vectors(tmp, town, disaster, population, census, crs_obj)
        counts = _counts(town, disaster, population, census)
        shift = looks["post"].shift_px
        write_json(
            tmp / FILES["event"],
            {
                "generator": "geovision.synth",
                "version": __version__,
                "seed": seed,
                "event": event,
                "width": width,
                "height": height,
                "gsd_m": gsd_m,
                "crs": crs_obj.to_string(),
                "origin": list(origin),
                "bounds": list(bounds),
                "transform": list(transform)[:6],
                "misregistration_px": {
                    "dx": shift[0],
                    "dy": shift[1],
                    "note": "post.tif content is shifted by (dx, dy) px; masks are exact",
                },
                "affected_area_m2": round(disaster.region.area, 1),
                "counts": counts,
                "files": FILES,
                "looks": {date: {k: v for k, v in vars(look).items() if k != "seed"} for date, look in looks.items()},
            },
        )
    return SynthEvent(out_dir, width, height, gsd_m, crs_obj.to_string(), event, seed, shift, counts)


def _check(width: int, height: int, gsd_m: float, seed: int, event: str, crs: str, window_px: int) -> CRS:
    """Validate the options; return the parsed CRS."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or value < MIN_SIZE_PX:
            raise ConfigError(
                f"{name} must be an integer of at least {MIN_SIZE_PX} px, got {value!r}",
                fix=f"pass --{name} {max(MIN_SIZE_PX, 1024)}",
            )
    if not (isinstance(gsd_m, (int, float)) and 0.05 <= gsd_m <= 10.0):
        raise ConfigError(f"gsd_m must be between 0.05 and 10 m, got {gsd_m!r}", fix="pass --gsd-m 0.5")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}", fix="pass --seed 0")
    if event not in EVENTS:
        raise ConfigError(f"unknown event {event!r}", fix=f"use one of {', '.join(EVENTS)}")
    if window_px < 64:
        raise ConfigError(f"window_px must be at least 64, got {window_px}", fix="leave it at its default")
    try:
        crs_obj = CRS.from_user_input(crs)
    except CRSError as error:
        raise GeoreferenceError(f"cannot parse CRS {crs!r}: {error}", fix="pass e.g. --crs EPSG:32615") from None
    units = (crs_obj.linear_units or "").lower()
    if not crs_obj.is_projected or units not in ("metre", "meter", "m"):
        raise GeoreferenceError(
            f"CRS {crs!r} is not projected in metres", fix="pass a UTM zone such as --crs EPSG:32615"
        )
    return crs_obj


def _counts(town: Town, disaster: Disaster, population: np.ndarray, census: Census) -> dict[str, int]:
    """Counts recorded in event.json and returned to the caller."""
    damage = {name: int((disaster.damage == i).sum()) for i, name in enumerate(DAMAGE_CLASSES)}
    inside = shapely.intersects(disaster.region, town.buildings.footprint) if len(town.buildings) else np.zeros(0, bool)
    return {
        "buildings": len(town.buildings),
        **{f"buildings_{k.replace('-', '_')}": v for k, v in damage.items()},
        "buildings_lost": int(disaster.lost.sum()),
        "roads": len(town.road_line),
        "road_length_m": int(round(float(shapely.length(town.road_line).sum()))),
        "admin_units": len(census.polygon),
        "population": int(population.sum()),
        "census_population": int(census.pop.sum()),
        "population_in_affected_area": int(population[inside].sum()),
        "population_in_lost_buildings": int(population[disaster.lost].sum()),
    }
