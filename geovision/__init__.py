"""geovision: disaster impact from before/after satellite imagery."""

import os

__version__ = "0.1.0"

#: GDAL's block cache defaults to 5 % of the machine's RAM and fills as a scene streams through
#: it, so peak memory grew with scene size (3.4 GB for a 10240 px pair on a 24 GB machine).
#: Windows are read once, so a small cache costs nothing; GDAL reads this when it first caches a
#: block, so it is set on import, before any raster is opened. A value the user exported wins.
GDAL_CACHE_MB = 128
os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))
