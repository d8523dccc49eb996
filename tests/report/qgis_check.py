"""Open every output of a run folder in QGIS (PyQGIS, headless) with the style geovision ships for it.

Run by the system Python that has Debian's ``python3-qgis`` (not the project's venv)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/report/qgis_check.py RUN_DIR OUT_DIR

Prints one JSON document: per layer its renderer type, feature count, features without a
symbol (``renderer.willRenderFeature`` in a render context) and, after rendering the layer
alone to ``OUT_DIR/<name>.png`` over a grey background, how many sampled places where the
layer has data (features, or raster pixels with a positive value) stay background-grey.
``OUT_DIR/all.png`` is the styled run (post-event image, grid, roads, buildings) together.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPointXY,
    QgsRasterLayer,
    QgsRectangle,
    QgsRenderContext,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

SIZE_PX = 800  # longer side of the vector and combined renders
BACKGROUND = QColor(128, 128, 128)
SAMPLES = 200
VECTOR_SUFFIXES = (".gpkg", ".geojson")


def vector_layers(run: Path) -> list[tuple[str, QgsVectorLayer]]:
    """Every vector file of the run (each layer of a GeoPackage), opened with its default style."""
    out = []
    for path in sorted(p for p in run.rglob("*") if p.suffix in VECTOR_SUFFIXES and "stac" not in p.parts):
        probe = QgsVectorLayer(str(path), path.stem, "ogr")
        names = [s.split("!!::!!")[1] for s in probe.dataProvider().subLayers()] or [path.stem]
        for name in names:
            if name == "layer_styles":
                continue
            uri = f"{path}|layername={name}" if path.suffix == ".gpkg" else str(path)
            label = (
                f"{path.relative_to(run).as_posix()}:{name}"
                if path.suffix == ".gpkg"
                else path.relative_to(run).as_posix()
            )
            out.append((label, QgsVectorLayer(uri, name, "ogr")))
    return out


def raster_layers(run: Path) -> list[tuple[str, QgsRasterLayer]]:
    return [(p.relative_to(run).as_posix(), QgsRasterLayer(str(p), p.stem)) for p in sorted(run.glob("*/*.tif"))]


def render(layers: list, extent: QgsRectangle, crs, path: Path, max_px: int = SIZE_PX):
    """Render ``layers`` over ``extent`` into a PNG whose longer side is ``max_px`` (the extent's aspect)."""
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs)
    settings.setExtent(extent)
    aspect = extent.width() / max(extent.height(), 1e-12)
    size = (max_px, max(1, round(max_px / aspect))) if aspect >= 1 else (max(1, round(max_px * aspect)), max_px)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(BACKGROUND)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(path), "PNG")
    return image, settings


def blank_share(image, settings: QgsMapSettings, points: list[QgsPointXY]) -> tuple[int, int]:
    """(sampled points, points whose pixel is exactly the background)."""
    to_pixel = settings.mapToPixel()
    blank = total = 0
    for point in points:
        pixel = to_pixel.transform(point)
        x, y = int(pixel.x()), int(pixel.y())
        if 0 <= x < image.width() and 0 <= y < image.height():
            total += 1
            blank += QColor(image.pixel(x, y)) == BACKGROUND
    return total, blank


def check_vector(label: str, layer: QgsVectorLayer, out: Path) -> dict:
    result = {"layer": label, "kind": "vector", "valid": layer.isValid()}
    if not layer.isValid():
        return result
    renderer = layer.renderer().clone()
    context = QgsRenderContext()
    context.setExpressionContext(QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
    renderer.startRender(context, layer.fields())
    features = list(layer.getFeatures())
    without = [
        f.id()
        for f in features
        if not renderer.willRenderFeature(f, context) or not renderer.symbolsForFeature(f, context)
    ]
    renderer.stopRender(context)
    result.update(
        renderer=layer.renderer().type(),
        features=len(features),
        without_symbol=len(without),
        legend=[item.label() for item in layer.renderer().legendSymbolItems()],
    )
    random.seed(0)
    sample = random.sample(features, min(SAMPLES, len(features)))
    points = []
    for feature in sample:
        geometry = feature.geometry()
        point = geometry.interpolate(geometry.length() / 2) if geometry.type() == 1 else geometry.pointOnSurface()
        points.append(point.asPoint())
    image, settings = render([layer], layer.extent(), layer.crs(), out / f"{_file(label)}.png")
    result["sampled"], result["blank"] = blank_share(image, settings, points)
    return result


def check_raster(label: str, layer: QgsRasterLayer, out: Path) -> dict:
    result = {"layer": label, "kind": "raster", "valid": layer.isValid()}
    if not layer.isValid():
        return result
    provider, renderer = layer.dataProvider(), layer.renderer()
    band = renderer.band() if hasattr(renderer, "band") else 1
    stats = provider.bandStatistics(band)
    shader = renderer.shader().rasterShaderFunction() if hasattr(renderer, "shader") else None
    result.update(
        renderer=renderer.type(),
        band=band,
        data_min=stats.minimumValue,
        data_max=stats.maximumValue,
        style_min=shader.minimumValue() if shader else None,
        style_max=shader.maximumValue() if shader else None,
        scale=provider.bandScale(band),
        description=provider.generateBandName(band),
    )
    extent, random_state = layer.extent(), random.Random(0)
    points = []
    items = shader.colorRampItemList() if shader else []
    visible = items[1].value if len(items) > 1 else 1.0  # the first visibly coloured class
    result["visible_from"] = visible
    for _ in range(20000):  # places with a visible value (a feature, a probability >= 0.5, DII >= theta)
        point = QgsPointXY(
            random_state.uniform(extent.xMinimum(), extent.xMaximum()),
            random_state.uniform(extent.yMinimum(), extent.yMaximum()),
        )
        value, ok = provider.sample(point, band)
        if ok and value == value and value >= visible:
            points.append(point)
        if len(points) >= SAMPLES:
            break
    native = max(layer.width(), layer.height())  # one screen pixel per raster pixel: no feature is resampled away
    image, settings = render([layer], extent, layer.crs(), out / f"{_file(label)}.png", max_px=min(native, 4096))
    result["sampled"], result["blank"] = blank_share(image, settings, points)
    return result


def _file(label: str) -> str:
    return label.replace("/", "__").replace(":", "__")


def main(run: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    app = QgsApplication([], False)
    app.initQgis()
    vectors, rasters = vector_layers(run), raster_layers(run)
    report = {
        "qgis": Qgis.QGIS_VERSION,
        "layers": [check_vector(label, layer, out) for label, layer in vectors]
        + [check_raster(label, layer, out) for label, layer in rasters],
    }
    together = [
        layer
        for label, layer in vectors
        if label.startswith("geovision.gpkg:") and layer.name() in ("buildings", "roads", "grid")
    ]
    together.sort(key=lambda layer: ("buildings", "roads", "grid").index(layer.name()))
    if together:
        post = QgsRasterLayer(str(_post_image(run)), "post") if _post_image(run) else None
        stack = together + ([post] if post is not None and post.isValid() else [])
        extent = together[0].extent()
        render(stack, extent, together[0].crs(), out / "all.png")
        report["all_png"] = str(out / "all.png")
    return report


def _post_image(run: Path) -> Path | None:
    record = json.loads((run / "run.json").read_text())
    text = record.get("inputs", {}).get("post")
    if not text:
        return None
    path = Path(text) if Path(text).is_absolute() else run / text
    return path if path.exists() else None


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2])), indent=1), flush=True)
    os._exit(0)  # skip PyQGIS's teardown, which crashes when layers outlive QgsApplication.exitQgis()
