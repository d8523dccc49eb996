"""Procedural disaster scenes with exact ground truth (``geovision synth``).

A seeded generator builds a vector town (arterial and local roads, houses with
sheds and driveways, commercial buildings with parking, farms, a river, ponds,
parks, forest and fields), applies an event (``tornado`` track, ``fire`` scar
or ``flood`` from the river) and renders before/after images window by
window, so any size runs in bounded memory. The same seed gives byte-identical
files.

Output folder (fixed names):

==========================  =====================================================================
``pre.tif``, ``post.tif``   uint8 RGB GeoTIFF, tiled 512, DEFLATE, no nodata. ``post.tif`` has
                            another sun, colour balance, haze, blur, and is misregistered by a
                            sub-pixel to 2 px shift recorded in ``event.json``
``buildings_pre.tif``       uint8 0/1 building mask before the event (exact geometry)
``buildings_post.tif``      uint8 0/1 mask of buildings still standing (not ``lost``)
``roads_pre.tif``           uint8 0/1 road surface mask before the event
``roads_post.tif``          uint8 0/1 road surface still usable (not covered/destroyed/flooded)
``buildings.gpkg``          footprints: ``building_id``, ``damage`` (no-damage, minor-damage,
                            major-damage, destroyed), ``lost`` (major-damage or destroyed),
                            ``population`` (residents), ``use``, ``height_m``
``roads.gpkg``              centre lines: ``road_id``, ``kind``, ``width_m``, ``lost_fraction``
``affected_area.gpkg``      the true affected region (``event``, ``area_m2``)
``census.gpkg``             admin polygons covering the scene: ``admin_id``, ``name``, ``pop``
                            (residents inside x census noise, integer)
``event.json``              seed, size, gsd, crs, event, misregistration, looks, counts, version
==========================  =====================================================================
"""

from geovision.synth.events import DAMAGE_CLASSES, EVENTS
from geovision.synth.generate import FILES, SynthEvent, generate_event

__all__ = ["DAMAGE_CLASSES", "EVENTS", "FILES", "SynthEvent", "generate_event"]
