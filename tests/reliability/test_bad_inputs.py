"""Bad inputs through `geovision run` (issue 17.9-17.10): a one-line exit-2 error naming the file, or a correct run.

Each case builds one hostile input (a degenerate raster, a geographic edge case, a broken AOI,
census or catalog) next to a good image, runs the real CLI and checks that it either succeeds
(the input is legitimate, if odd) or stops with exit 2, an ``Error:`` line naming the file and a
``Fix:``, no traceback, and nothing written into ``--out``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from geovision.cli.main import cli
from tests.rasters import write_geotiff

UTM = "EPSG:32615"
GRID = Affine(0.5, 0, 500000, 0, -0.5, 4100000)


def tiff(path: Path, data: np.ndarray, *, transform: Affine = GRID, **options) -> Path:
    """A GeoTIFF of ``data`` on the test grid (or ``transform``), as odd as a user's may be."""
    return write_geotiff(path, data, transform=transform, **options)


def scene(size: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 220, (3, size, size), dtype=np.uint8)


def vector(path: Path, geometries: list, crs: str | None = UTM, **columns) -> Path:
    import geopandas as gpd

    gpd.GeoDataFrame(columns, geometry=geometries, crs=crs).to_file(path)
    return path


def bowtie():
    import shapely

    return shapely.Polygon([(500000, 4100000), (500048, 4099952), (500048, 4100000), (500000, 4099952)])


def box(x0=500000, y0=4099952, x1=500048, y1=4100000):
    import shapely

    return shapely.box(x0, y0, x1, y1)


# name -> (build(tmp) -> (args, name of the file the message must name or None), expected exit code)
Case = Callable[[Path], tuple[list[str], str | None]]


def pair(tmp: Path, pre: Path | None = None, post: Path | None = None, *extra: str) -> list[str]:
    pre = pre or tiff(tmp / "good_pre.tif", scene())
    post = post or tiff(tmp / "good_post.tif", scene(seed=1))
    return ["--pre", str(pre), "--post", str(post), *extra]


def bad_pre(build: Callable[[Path], Path]) -> Case:
    def case(tmp: Path):
        path = build(tmp)
        return pair(tmp, pre=path), path.name

    return case


def catalog_case(text: str | bytes, event: str = "x") -> Case:
    def case(tmp: Path):
        path = tmp / "catalog.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [event, "--catalog", str(path)], path.name

    return case


def aoi_case(geometries: Callable[[], list], crs: str | None = UTM) -> Case:
    def case(tmp: Path):
        path = vector(tmp / "aoi.gpkg", geometries(), crs=crs)
        return pair(tmp, None, None, "--aoi", str(path)), path.name

    return case


def census_case(**columns) -> Case:
    def case(tmp: Path):
        path = vector(tmp / "census.gpkg", [box()], **columns)
        return pair(tmp, None, None, "--census", str(path)), path.name

    return case


FAILS = {
    # degenerate or broken rasters
    "text-named-tif": bad_pre(lambda t: (t / "notes.tif").write_text("not an image") and t / "notes.tif"),
    "empty-file": bad_pre(lambda t: (t / "empty.tif").write_bytes(b"") or t / "empty.tif"),
    "truncated-tiff": bad_pre(lambda t: _truncated(t / "cut.tif")),
    "no-georeference": bad_pre(lambda t: tiff(t / "nogeo.tif", scene(), transform=Affine.identity(), crs=None)),
    "complex-pixels": bad_pre(lambda t: tiff(t / "complex.tif", scene().astype(np.complex64))),
    "all-nan-float": bad_pre(lambda t: tiff(t / "nan.tif", np.full((3, 64, 64), np.nan, np.float32))),
    "all-nodata-sparse-giant": bad_pre(lambda t: _sparse(t / "giant.tif", 200_000)),
    "disjoint-post": lambda t: (
        pair(t, post=tiff(t / "far.tif", scene(), transform=Affine(0.5, 0, 600000, 0, -0.5, 4100000))),
        "far.tif",
    ),
    "one-pixel-image": lambda t: (pair(t, tiff(t / "p.tif", scene(1)), tiff(t / "q.tif", scene(1, 1))), "p.tif"),
    "one-pixel-wide-strip": lambda t: (
        pair(t, tiff(t / "p.tif", scene(600)[:, :, :1].copy()), tiff(t / "q.tif", scene(600, 1)[:, :, :1].copy())),
        "p.tif",
    ),
    "aoi-of-a-few-pixels": aoi_case(lambda: [box(500000, 4099996, 500004, 4100000)]),
    # AOIs
    "aoi-outside-scene": aoi_case(lambda: [box(0, 0, 10, 10)]),
    "aoi-of-points": aoi_case(lambda: [box().centroid]),
    "aoi-without-crs": aoi_case(lambda: [box()], crs=None),
    "aoi-is-an-image": lambda t: (pair(t, None, None, "--aoi", str(tiff(t / "aoi.tif", scene()))), "aoi.tif"),
    # model folders
    "model-json-binary": lambda t: _model(t, bytes(range(256))),
    "model-json-deep": lambda t: _model(t, b"[" * 100_000 + b"]" * 100_000),
    "model-json-a-list": lambda t: _model(t, b"[1, 2]"),
    "model-of-pickles": lambda t: _model(t, b"{}", weights=b"\x80\x04K\x01."),
    # census
    "census-negative-counts": census_case(pop=[-5]),
    "census-text-counts": census_case(pop=["many"]),
    "census-nan-counts": census_case(pop=[float("nan")]),
    "census-without-column": census_case(people=[10]),
    # hostile catalogs
    "catalog-a-list": catalog_case("- a\n- b\n"),
    "catalog-a-scalar": catalog_case("42\n"),
    "catalog-binary": catalog_case(bytes(range(256)) * 4),
    "catalog-deep-nesting": catalog_case("[" * 20_000 + "]" * 20_000),
    "catalog-unknown-field": catalog_case("events:\n  x:\n    kind: synth\n    pre_path: a.tif\n"),
    "catalog-wrong-type": catalog_case("events:\n  x: [1, 2, 3]\n"),
    "catalog-duplicate-event": catalog_case("events:\n  x: {kind: synth}\n  x: {kind: synth}\n"),
    "catalog-python-tag": catalog_case("events: !!python/object/apply:os.system ['true']\n"),
    "catalog-event-missing": catalog_case("events: {}\n", event="nowhere"),
}

WORKS = {
    "rotated-transform": lambda t: (
        pair(
            t,
            *(
                tiff(t / f"{d}.tif", scene(seed=s), transform=Affine(0.45, 0.2, 500000, 0.2, -0.45, 4100000))
                for d, s in (("p", 0), ("q", 1))
            ),
        ),
        None,
    ),
    "int8-pixels": lambda t: (pair(t, tiff(t / "p.tif", (scene() // 2).astype(np.int8))), None),
    "post-in-another-crs": lambda t: (pair(t, post=_warped(t / "q.tif", "EPSG:3857")), None),
    "aoi-bowtie": aoi_case(lambda: [bowtie()]),
    "census-outside-the-scene": lambda t: (
        pair(t, None, None, "--census", str(vector(t / "c.gpkg", [box(0, 0, 10, 10)], pop=[10]))),
        None,
    ),
}


def _model(tmp: Path, meta: bytes, weights: bytes | None = None) -> tuple[list[str], str]:
    folder = tmp / "my-model"
    folder.mkdir()
    (folder / "model.json").write_bytes(meta)
    if weights is not None:
        (folder / "weights.pt").write_bytes(weights)
    return pair(tmp, None, None, "--model", str(folder)), "my-model"


def _truncated(path: Path) -> Path:
    full = tiff(path.with_name("full.tif"), scene(512), tiled=True, blockxsize=128, blockysize=128)
    path.write_bytes(full.read_bytes()[:40_000])
    return path


def _sparse(path: Path, size: int) -> Path:
    """A size x size tiled GeoTIFF with no tile written: all nodata, a few kB on disk."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=3,
        dtype="uint8",
        crs=UTM,
        transform=GRID,
        nodata=0,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        sparse_ok=True,
        compress="deflate",
    ):
        pass
    return path


def _warped(path: Path, crs: str) -> Path:
    from rasterio.warp import calculate_default_transform, reproject

    source = scene(seed=1)
    transform, width, height = calculate_default_transform(UTM, crs, 96, 96, 500000, 4099952, 500048, 4100000)
    out = np.zeros((3, height, width), np.uint8)
    reproject(source, out, src_transform=GRID, src_crs=UTM, dst_transform=transform, dst_crs=crs)
    return tiff(path, out, transform=transform, crs=crs)


def invoke(tmp_path: Path, args: list[str]):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", *args, "--out", str(out)])
    return result, out


@pytest.mark.parametrize("name", sorted(FAILS))
def test_a_bad_input_is_one_line_exit_2_naming_the_file(tmp_path, name):
    args, culprit = FAILS[name](tmp_path)
    result, out = invoke(tmp_path, args)
    assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    assert culprit in errors[0], errors[0]
    assert not any(p for p in out.rglob("*") if p.name != ".geovision.lock") if out.exists() else True


@pytest.mark.parametrize("name", sorted(WORKS))
def test_an_odd_but_legitimate_input_runs(tmp_path, name):
    args, _ = WORKS[name](tmp_path)
    result, out = invoke(tmp_path, args)
    assert result.exit_code == 0, f"{name}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert (out / "run.json").is_file()
