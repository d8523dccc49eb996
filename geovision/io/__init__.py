"""Raster and vector I/O (rasterio, geopandas). Never imports torch."""
