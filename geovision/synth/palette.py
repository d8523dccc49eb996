"""Colours (8-bit sRGB) of the synthetic scenes, chosen from real 0.5 m imagery of US towns."""

from __future__ import annotations

import numpy as np

# Neighbourhood roof palettes: each residential block draws one palette, each house one colour.
ROOF_PALETTES: tuple[tuple[tuple[int, int, int], ...], ...] = (
    ((92, 92, 98), (122, 120, 117), (72, 74, 80), (150, 146, 140)),  # asphalt shingle greys
    ((112, 82, 62), (140, 102, 76), (96, 72, 58), (128, 110, 96)),  # brown shingles
    ((172, 88, 62), (186, 112, 82), (150, 72, 52), (160, 120, 100)),  # terracotta / red tile
    ((202, 196, 186), (216, 212, 202), (182, 176, 166), (160, 158, 154)),  # light / white
    ((82, 102, 122), (72, 112, 92), (152, 160, 170), (110, 110, 116)),  # painted metal
)
COMMERCIAL_ROOFS: tuple[tuple[int, int, int], ...] = (
    (205, 205, 203),
    (172, 172, 176),
    (226, 226, 220),
    (122, 122, 126),
    (188, 182, 170),
)
FARM_ROOFS: tuple[tuple[int, int, int], ...] = ((150, 60, 50), (160, 165, 170), (120, 90, 70))

# Ground kinds (landcover ``kind`` values) -> base colour, and a second colour blended by noise.
GROUND_KINDS = ("lawn", "dry_grass", "crop_green", "crop_yellow", "bare_soil", "forest_floor")
GROUND_A = np.array(
    [(106, 116, 72), (142, 136, 92), (86, 118, 58), (176, 160, 104), (150, 124, 96), (70, 84, 52)], dtype=np.float32
)
GROUND_B = np.array(
    [(134, 134, 92), (160, 148, 110), (110, 132, 70), (190, 176, 126), (168, 142, 112), (88, 96, 62)], dtype=np.float32
)

TREE_DARK = np.array((38, 56, 30), dtype=np.float32)
TREE_LIGHT = np.array((86, 112, 58), dtype=np.float32)
WATER_DEEP = np.array((34, 52, 62), dtype=np.float32)
WATER_SHALLOW = np.array((58, 78, 82), dtype=np.float32)
ASPHALT = {1: np.array((84, 84, 88), dtype=np.float32), 2: np.array((112, 110, 108), dtype=np.float32)}
CONCRETE = np.array((176, 172, 164), dtype=np.float32)
LANE_MARK = np.array((224, 222, 206), dtype=np.float32)

# Event colours.
DEBRIS_A = np.array((150, 132, 112), dtype=np.float32)  # splintered wood, plaster
DEBRIS_B = np.array((96, 88, 80), dtype=np.float32)  # mixed rubble
DEBRIS_LIGHT = np.array((206, 200, 190), dtype=np.float32)
TARP = np.array((40, 92, 170), dtype=np.float32)
SCORCH = np.array((42, 38, 36), dtype=np.float32)
ASH = np.array((150, 146, 140), dtype=np.float32)
CHAR = np.array((78, 72, 66), dtype=np.float32)
STRIPPED_GROUND = np.array((132, 118, 92), dtype=np.float32)
FLOOD_WATER = np.array((112, 100, 76), dtype=np.float32)
FLOOD_WATER_DARK = np.array((84, 78, 62), dtype=np.float32)
HAZE = np.array((200, 204, 210), dtype=np.float32)
