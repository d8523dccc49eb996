"""Seamless procedural noise that depends only on global pixel coordinates and a seed.

Every function here takes the *global* coordinates of the pixels to fill (1-D row
and column coordinate vectors of an axis-aligned window), so a scene rendered
window by window is identical to one rendered in one piece, whatever the
window size. Only exactly-rounded float operations (+, -, *) are applied per
pixel, so results are bit-identical across runs.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_KX = np.uint64(0x9E3779B97F4A7C15)
_KY = np.uint64(0xC2B2AE3D27D4EB4F)
_KS = np.uint64(0x165667B19E3779F9)
_S33 = np.uint64(33)
_S11 = np.uint64(11)


def hash_uniform(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Uniform values in [0, 1) hashed from integer lattice coordinates (broadcasting)."""
    with np.errstate(over="ignore"):
        h = (
            np.asarray(ix, dtype=np.int64).astype(np.uint64) * _KX
            ^ np.asarray(iy, dtype=np.int64).astype(np.uint64) * _KY
            ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _KS
        )
        h ^= h >> _S33
        h *= _M1
        h ^= h >> _S33
        h *= _M2
        h ^= h >> _S33
    return (h >> _S11).astype(np.float64) * (1.0 / (1 << 53))


def _lattice_axis(coords: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Lattice index (relative to the first), smoothstep weight and first index along one axis."""
    scaled = np.asarray(coords, dtype=np.float64) / cell
    base = np.floor(scaled)
    t = (scaled - base).astype(np.float32)
    first = int(base.min())
    return (base - first).astype(np.intp), t * t * (3.0 - 2.0 * t), first


def value_noise(rows: np.ndarray, cols: np.ndarray, cell_px: float, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1) of feature size ``cell_px`` on the grid ``rows x cols`` (float32)."""
    iy, wy, y0 = _lattice_axis(rows, cell_px)
    ix, wx, x0 = _lattice_axis(cols, cell_px)
    lattice = hash_uniform(
        np.arange(x0, x0 + int(ix.max()) + 2)[None, :], np.arange(y0, y0 + int(iy.max()) + 2)[:, None], seed
    ).astype(np.float32)
    along_x = lattice[:, ix] * (1.0 - wx) + lattice[:, ix + 1] * wx
    return along_x[iy] * (1.0 - wy)[:, None] + along_x[iy + 1] * wy[:, None]


def fbm(
    rows: np.ndarray, cols: np.ndarray, cell_px: float, seed: int, *, octaves: int = 3, gain: float = 0.5
) -> np.ndarray:
    """Fractal sum of ``octaves`` value-noise layers, normalised to about [0, 1] (float32)."""
    total = np.zeros((len(rows), len(cols)), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += np.float32(amplitude) * value_noise(rows, cols, cell_px / 2**octave, seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    total *= np.float32(1.0 / norm)
    return total


class Grain:
    """Per-pixel white noise from two seeded tiles of coprime sizes (period 509*521 px).

    Cheap enough for every pixel of a 20000 px scene, seamless across windows
    and free of visible repetition.
    """

    SIZES = (509, 521)

    def __init__(self, seed: int, channels: int = 3):
        rng = np.random.Generator(np.random.PCG64(seed))
        self.tiles = [
            rng.standard_normal((channels, n, n)).astype(np.float32) * np.float32(0.5**0.5) for n in self.SIZES
        ]

    def sample(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Standard-normal-like noise of shape (channels, len(rows), len(cols))."""
        out = None
        for tile, n in zip(self.tiles, self.SIZES, strict=True):
            r = np.mod(np.asarray(rows, dtype=np.int64), n)
            c = np.mod(np.asarray(cols, dtype=np.int64), n)
            part = tile[:, r[:, None], c[None, :]]
            out = part if out is None else out + part
        return out


def crowns(
    rows: np.ndarray, cols: np.ndarray, cell_px: float, seed: int, density: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round tree crowns scattered on a jittered lattice (a Worley-style pattern).

    Each lattice cell of ``cell_px`` holds at most one crown (centre jittered in
    the cell, radius 0.35-0.65 cell); a crown exists where its cell's hashed
    value is below the per-pixel ``density`` (h, w). Returns the dome height
    (0 off crowns, 1 at a crown centre) and the offset of each pixel from its
    crown centre in radii (x right, y down), for lighting.
    """
    ry, cy = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    # a crown reaches at most half a cell beyond its own cell, so only the two cells whose
    # centres straddle a pixel (per axis) can cover it
    iy = np.floor(ry / cell_px - 0.5).astype(np.int64)
    ix = np.floor(cy / cell_px - 0.5).astype(np.int64)
    y0, x0 = int(iy.min()), int(ix.min())
    gy = np.arange(y0, int(iy.max()) + 2)[:, None]
    gx = np.arange(x0, int(ix.max()) + 2)[None, :]
    exist = hash_uniform(gx, gy, seed).astype(np.float32)
    tx = ((gx + 0.15 + 0.7 * hash_uniform(gx, gy, seed + 1)) * cell_px).astype(np.float32)
    ty = ((gy + 0.15 + 0.7 * hash_uniform(gx, gy, seed + 2)) * cell_px).astype(np.float32)
    inv_r = (1.0 / (cell_px * (0.35 + 0.3 * hash_uniform(gx, gy, seed + 3)))).astype(np.float32)
    px = cy.astype(np.float32)[None, :]
    py = ry.astype(np.float32)[:, None]
    best = np.zeros((len(ry), len(cy)), dtype=np.float32)
    off_x = np.zeros_like(best)
    off_y = np.zeros_like(best)
    for dx in (0, 1):
        columns = ix - x0 + dx
        cols_of = [a[:, columns] for a in (exist, tx, ty, inv_r)]
        for dy in (0, 1):
            e, x, y, k = (a[iy - y0 + dy] for a in cols_of)
            ox = (px - x) * k
            oy = (py - y) * k
            height = 1.0 - (ox * ox + oy * oy)
            height[e >= density] = 0.0
            better = height > best
            best[better] = height[better]
            off_x[better] = ox[better]
            off_y[better] = oy[better]
    return best, off_x, off_y
