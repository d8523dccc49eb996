"""A finished run folder in Python: ``open_run(dir)`` gives its grids, vectors, units and figures.

Everything is found through the run record (:class:`~geovision.runrecord.RunRecord`), so a run
folder that was moved, copied or unzipped elsewhere opens the same. Rasters are opened lazily
(rioxarray, dask-backed), never read whole.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geovision.errors import MissingFileError
from geovision.runrecord import RunRecord

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

#: layers of the run's GeoPackage (geovision.gpkg), as written by the report stage
LAYERS = ("buildings", "roads", "grid", "admin_units", "reference_grid")


class RunResults:
    """The outputs of one run folder (see :func:`open_run`)."""

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.path = Path(os.path.abspath(run_dir))
        self.record = RunRecord.load(self.path)

    def __repr__(self) -> str:
        return f"RunResults({str(self.path)!r}, event={self.record.inputs.get('name')!r})"

    @cached_property
    def figures(self) -> dict[str, Any]:
        """The headline figures (those of ``geovision run``'s summary and ``--json``)."""
        from geovision.report.summary import summary_figures

        return summary_figures(self.record.document(), self.path)

    def grid(self, kind: str = "buildings", *, reference: bool = False) -> xr.Dataset:
        """The DII grid of ``kind`` (buildings or roads; ``reference``: of the ground truth) as an xarray Dataset.

        One variable per band of the impact COG (``dii``, ``impacted``, ``persons`` ...), lazily
        read, with rioxarray's ``spatial_ref`` (``ds.rio.crs``, ``ds.rio.to_raster()`` work).
        """
        import rioxarray

        stage = "reference" if reference else f"impact_{kind}"
        path = self.record.output(stage, "cog")
        band = rioxarray.open_rasterio(path, chunks={}, mask_and_scale=True)
        names = band.attrs.get("long_name")
        names = [names] if isinstance(names, str) else list(names or [f"band_{i}" for i in band.band.values])
        dataset = band.assign_coords(band=names).to_dataset(dim="band")
        for name in dataset.data_vars:
            dataset[name].attrs.pop("long_name", None)
        dataset.attrs.pop("long_name", None)
        dataset.attrs.update(kind=kind, cell_m=self.record.stage(stage).figures.get("cell_m"), source=str(path))
        return dataset

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` of the run's GeoPackage (:data:`LAYERS`)."""
        import geopandas as gpd
        import pyogrio

        package = self.record.output("report", "gpkg")
        present = [str(layer) for layer, _ in pyogrio.list_layers(package)]
        if name not in present:
            raise MissingFileError(
                f"the run's GeoPackage has no layer {name!r} (it has {', '.join(present)})",
                path=package,
                fix="the layer needs its stage (e.g. admin_units: run with --census)",
            )
        return gpd.read_file(package, layer=name)

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """Building outlines detected before the event, with their ``lost`` flag."""
        return self.layer("buildings")

    @property
    def roads(self) -> gpd.GeoDataFrame:
        """Road centre lines, with the damaged ones flagged."""
        return self.layer("roads")

    @property
    def units(self) -> gpd.GeoDataFrame | None:
        """Census units with the people in impacted cells (None for a run without a census)."""
        try:
            return self.layer("admin_units")
        except MissingFileError:
            return None


def open_run(run_dir: str | os.PathLike[str]) -> RunResults:
    """Open a finished (or partial) ``geovision run`` folder: ``.grid()``, ``.buildings``, ``.roads``, ``.units``,
    ``.figures`` and ``.record``."""
    return RunResults(run_dir)
