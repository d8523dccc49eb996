"""A STAC catalog (pystac) describing every file of a run folder, with the projection and raster extensions.

``stac/catalog.json`` holds one item (the run) whose assets are all the run's files,
by relative href; ``derived_from`` links name the input images, and a ``license`` link
points at ``stac/licence.txt`` (the inputs' licence as the catalog states it). Validation
runs offline: pystac ships the core STAC schemas; for the projection and raster
extensions, whose schemas pystac would fetch from the network, local schemas of their
fields (written here from the extensions' specifications) are registered instead.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pystac
import rasterio
import shapely.geometry
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.validation import JsonSchemaSTACValidator, RegisteredValidator
from pystac.validation.stac_validator import GetSchemaError
from rasterio.warp import transform_bounds, transform_geom

from geovision.errors import ConfigError

STAC_DIR = "stac"
MEDIA_TYPES = {
    ".tif": pystac.MediaType.COG,
    ".gpkg": "application/geopackage+sqlite3",
    ".geojson": pystac.MediaType.GEOJSON,
    ".json": pystac.MediaType.JSON,
    ".csv": "text/csv",
    ".png": pystac.MediaType.PNG,
    ".html": pystac.MediaType.HTML,
    ".qml": "application/xml",
}
ROLES = {
    ".tif": ["data"],
    ".gpkg": ["data"],
    ".geojson": ["data"],
    ".json": ["metadata"],
    ".csv": ["data"],
    ".png": ["overview"],
    ".html": ["overview"],
    ".qml": ["style"],
}

_NUMBERS = {"type": "array", "items": {"type": "number"}}
PROJECTION_FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "proj:code": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9-_.]+:[A-Za-z0-9-_.]+$"},
        "proj:wkt2": {"type": ["string", "null"]},
        "proj:projjson": {"type": ["object", "null"]},
        "proj:geometry": {"type": "object", "required": ["type", "coordinates"]},
        "proj:bbox": {**_NUMBERS, "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}]},
        "proj:centroid": {
            "type": "object",
            "required": ["lat", "lon"],
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
        },
        "proj:shape": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "integer", "minimum": 0}},
        "proj:transform": {**_NUMBERS, "oneOf": [{"minItems": 6, "maxItems": 6}, {"minItems": 9, "maxItems": 9}]},
    },
}
PROJECTION_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": ProjectionExtension.get_schema_uri(),
    "title": "Projection extension fields (offline schema of geovision)",
    "type": "object",
    "required": ["stac_extensions"],
    "properties": {
        "stac_extensions": {"type": "array", "contains": {"const": ProjectionExtension.get_schema_uri()}},
        "properties": PROJECTION_FIELDS_SCHEMA,
        "assets": {"type": "object", "additionalProperties": PROJECTION_FIELDS_SCHEMA},
    },
}


RASTER_BAND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "nodata": {"type": ["number", "string"]},
        "data_type": {"type": "string"},
        "scale": {"type": "number"},
        "offset": {"type": "number"},
        "unit": {"type": "string"},
        "sampling": {"enum": ["area", "point"]},
    },
}
RASTER_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": RasterExtension.get_schema_uri(),
    "title": "Raster extension fields (offline schema of geovision)",
    "type": "object",
    "required": ["stac_extensions"],
    "properties": {
        "stac_extensions": {"type": "array", "contains": {"const": RasterExtension.get_schema_uri()}},
        "assets": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"raster:bands": {"type": "array", "items": RASTER_BAND_SCHEMA}},
            },
        },
    },
}
LICENCE_FILE = "licence.txt"


class OfflineValidator(JsonSchemaSTACValidator):
    """pystac's JSON-schema validator that never reaches the network."""

    def __init__(self) -> None:
        super().__init__()
        self.schema_cache[ProjectionExtension.get_schema_uri()] = PROJECTION_SCHEMA
        self.schema_cache[RasterExtension.get_schema_uri()] = RASTER_SCHEMA

    def _get_schema(self, schema_uri: str) -> dict[str, Any]:
        if schema_uri not in self.schema_cache:
            raise GetSchemaError(
                schema_uri,
                ConfigError(f"no local schema for {schema_uri}", fix="validate online with pystac's default validator"),
            )
        return self.schema_cache[schema_uri]


def validate_catalog(path: str | os.PathLike[str]) -> int:
    """Validate a catalog and everything under it offline; return the number of items (raises STACValidationError)."""
    catalog = pystac.Catalog.from_file(str(path))
    previous = RegisteredValidator.get_validator()
    pystac.validation.set_validator(OfflineValidator())
    try:
        catalog.validate_all()
    finally:
        pystac.validation.set_validator(previous)
    return sum(1 for _ in catalog.get_items(recursive=True))


def _raster_projection(path: Path) -> tuple[dict[str, Any], list[float], dict[str, Any]] | None:
    """Projection fields, WGS84 bbox and footprint geometry of a raster (``None`` without CRS)."""
    with rasterio.open(path) as src:
        if src.crs is None:
            return None
        epsg = src.crs.to_epsg()
        fields = {
            "proj:code": f"EPSG:{epsg}" if epsg else None,
            "proj:shape": [src.height, src.width],
            "proj:transform": list(src.transform)[:6],
            "proj:bbox": list(src.bounds),
        }
        if epsg is None:
            fields["proj:wkt2"] = src.crs.to_wkt()
        bbox = list(transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21))
        geometry = transform_geom(src.crs, "EPSG:4326", shapely.geometry.mapping(shapely.geometry.box(*src.bounds)))
    return fields, bbox, geometry


def event_datetime(record: dict[str, Any]) -> dt.datetime | None:
    """The event's date from the run record (``inputs.event_date``, ISO 8601) as a UTC datetime, if known."""
    text = record.get("inputs", {}).get("event_date")
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(
            f"event date {text!r} is not an ISO 8601 date",
            fix="give it as YYYY-MM-DD (catalog `date:` or `--event-date`)",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def run_files(run_dir: Path) -> list[Path]:
    """Every file of the run folder that an asset should describe (not the STAC files, not hidden temp files)."""
    return sorted(
        p
        for p in run_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in MEDIA_TYPES
        and not p.name.startswith(".")
        and STAC_DIR not in p.relative_to(run_dir).parts[:1]
    )


def build_catalog(
    run_dir: str | os.PathLike[str],
    record: dict[str, Any],
    *,
    footprint: str | os.PathLike[str],
    when: dt.datetime | None = None,
) -> Path:
    """Write ``stac/catalog.json`` with one item describing every file of the run; return its path."""
    run_dir = Path(run_dir).resolve()
    base = _raster_projection(Path(footprint))
    if base is None:
        raise ConfigError(
            "the run's image has no CRS, so the STAC item has no footprint",
            path=footprint,
            fix="georeference the input images",
        )
    fields, bbox, geometry = base
    name = str(record.get("inputs", {}).get("name", run_dir.name))
    created = dt.datetime.now(dt.UTC)
    event_date = event_datetime(record)
    item = pystac.Item(
        id=f"{name}-run",
        geometry=geometry,
        bbox=bbox,
        datetime=when or event_date or created,
        properties={
            "title": f"geovision run of {name}",
            "geovision:version": record.get("geovision", ""),
            "geovision:datetime_source": "given"
            if when
            else ("event date" if event_date else "processing time (event date unknown)"),
            "created": pystac.utils.datetime_to_str(created),
            "license": "other",
        },
    )
    projection = ProjectionExtension.ext(item, add_if_missing=True)
    projection.code, projection.shape, projection.transform, projection.bbox = (
        fields["proj:code"],
        fields["proj:shape"],
        fields["proj:transform"],
        fields["proj:bbox"],
    )
    for path in run_files(run_dir):
        relative = path.relative_to(run_dir).as_posix()
        asset = pystac.Asset(
            href=str(path),
            media_type=MEDIA_TYPES[path.suffix.lower()],
            roles=list(ROLES[path.suffix.lower()]),
            title=relative,
        )
        if path.suffix.lower() == ".tif":
            raster = _raster_projection(path)
            if raster is not None:
                asset.extra_fields.update({k: v for k, v in raster[0].items() if v is not None})
            asset.extra_fields["raster:bands"] = raster_bands(path)
        item.add_asset(relative.replace("/", "__"), asset)
    if any(".tif" in key for key in item.assets):
        item.stac_extensions.append(RasterExtension.get_schema_uri())
    inputs = record.get("inputs", {})
    for key, title in (("pre", "pre-event image"), ("post", "post-event image"), ("census", "census")):
        if inputs.get(key) and Path(inputs[key]).exists():
            item.add_link(
                pystac.Link(
                    "derived_from",
                    Path(inputs[key]).resolve().as_uri(),
                    title=title,
                    media_type=MEDIA_TYPES.get(Path(inputs[key]).suffix.lower()),
                )
            )
    item.add_link(
        pystac.Link(
            "license", LICENCE_FILE, media_type="text/plain", title=str(inputs.get("licence") or "licence not stated")
        )
    )
    catalog = pystac.Catalog(
        id=f"{name}-geovision", description=f"Outputs of `geovision run` for {name}", title=f"geovision: {name}"
    )
    catalog.add_item(item)
    stac_dir = run_dir / STAC_DIR
    catalog.normalize_hrefs(str(stac_dir))
    item.make_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    licence = Path(item.get_self_href()).parent / LICENCE_FILE
    licence.write_text(licence_text(inputs), encoding="utf-8")
    return stac_dir / "catalog.json"


def licence_text(inputs: dict[str, Any]) -> str:
    """``licence.txt``: the inputs' licence, the credit owed (catalog ``attribution``) and the census licence."""
    lines = [f"Licence of the inputs of this run: {inputs.get('licence') or 'not stated'}"]
    if inputs.get("attribution"):
        lines.append(f"Credit: {inputs['attribution']}")
    if inputs.get("census_licence"):
        lines.append(f"Licence of the census: {inputs['census_licence']}")
    lines.append("The derived outputs follow the licence of the imagery they were made from.")
    return "\n".join(lines) + "\n"


def raster_bands(path: Path) -> list[dict[str, Any]]:
    """``raster:bands`` of a raster: data type, nodata, scale/offset when set, the band description."""
    with rasterio.open(path) as src:
        bands = []
        for index in range(src.count):
            band: dict[str, Any] = {"data_type": src.dtypes[index]}
            nodata = src.nodatavals[index]
            if nodata is not None:
                band["nodata"] = "nan" if nodata != nodata else nodata
            if src.scales[index] != 1.0 or src.offsets[index] != 0.0:
                band["scale"], band["offset"] = float(src.scales[index]), float(src.offsets[index])
            if src.descriptions[index]:
                band["description"] = src.descriptions[index]
            bands.append(band)
    return bands
