"""GDAL's block cache, capped while rasters stream through it (``gdal_cache``), not on import.

GDAL's cache defaults to 5 % of the machine's RAM and fills as a scene streams through it, so peak
memory grew with scene size (3.4 GB for a 10240 px pair on a 24 GB machine). Windows are read once,
so a small cache costs nothing. A ``GDAL_CACHEMAX`` the user exported wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

GDAL_CACHE_MB = 128


@contextmanager
def gdal_cache(megabytes: int = GDAL_CACHE_MB) -> Iterator[None]:
    """Cap GDAL's block cache at ``megabytes`` inside the block (unless ``GDAL_CACHEMAX`` is exported).

    The environment variable is set for the block, so GDAL reads it when it first caches a block and
    processes started inside (Dask workers) inherit it; once rasterio is loaded, GDAL has read its
    cache size already, so ``rasterio.Env`` sets it too. Both are restored on exit.
    """
    if "GDAL_CACHEMAX" in os.environ:
        yield
        return
    os.environ["GDAL_CACHEMAX"] = str(megabytes)
    try:
        with ExitStack() as stack:
            if "rasterio" in sys.modules:
                import rasterio

                stack.enter_context(rasterio.Env(GDAL_CACHEMAX=megabytes * 2**20))  # bytes here
            yield
    finally:
        os.environ.pop("GDAL_CACHEMAX", None)
