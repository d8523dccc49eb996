"""Process-wide settings made on import."""

import subprocess
import sys


def test_gdal_block_cache_is_bounded_on_import():
    """GDAL's cache would otherwise default to 5 % of RAM and make peak memory grow with scene size."""
    code = (
        "import os; os.environ.pop('GDAL_CACHEMAX', None); import geovision, rasterio; "
        "from rasterio.env import get_gdal_config; print(get_gdal_config('GDAL_CACHEMAX'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == __import__("geovision").GDAL_CACHE_MB * 2**20  # rasterio reports the cache in bytes


def test_a_cache_size_the_user_set_wins():
    code = (
        "import os; os.environ['GDAL_CACHEMAX'] = '512'; import geovision, rasterio; "
        "from rasterio.env import get_gdal_config; print(get_gdal_config('GDAL_CACHEMAX'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == 512 * 2**20
