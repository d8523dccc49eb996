import subprocess
import sys
from pathlib import Path

import pytest

import geovision
from geovision.catalog import DEFAULT_CATALOG, load_catalog
from geovision.errors import ConfigError, MissingFileError


def test_repository_catalog_loads_with_demo_and_joplin():
    catalog = load_catalog(DEFAULT_CATALOG)
    assert {"demo", "joplin-tornado-2011", "santa-rosa-fire-2017", "hurricane-harvey-2017"} <= set(catalog.names)
    demo = catalog.event("demo")
    assert demo.kind == "synthetic" and demo.synth.width == 2048
    joplin = catalog.event("joplin-tornado-2011")
    assert catalog.resolve(joplin.xbd.images_dir).name == "images"


def test_unknown_keys_are_rejected_naming_the_file(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text(
        "version: 1\nevents:\n  x:\n    title: t\n    kind: synthetic\n    synth: {}\n"
        "    licence: CC0\n    colour: red\n"
    )
    with pytest.raises(ConfigError, match=r"cat\.yaml.*events\.x\.colour"):
        load_catalog(path)


def test_kind_needs_its_sources(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("version: 1\nevents:\n  x: {title: t, kind: files, licence: CC0}\n")
    with pytest.raises(ConfigError, match="needs pre, post"):
        load_catalog(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("version: 1\nevents: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalog(path)


def test_unknown_event_lists_known_ones():
    with pytest.raises(ConfigError, match="use one of: demo"):
        load_catalog().event("atlantis")


def test_missing_catalog(tmp_path):
    with pytest.raises(MissingFileError):
        load_catalog(tmp_path / "nope.yaml")


def _files_event(tmp_path, pre: str):
    path = tmp_path / "cat.yaml"
    path.write_text(
        "version: 1\nevents:\n  x:\n    title: t\n    kind: files\n    licence: CC0\n"
        f"    pre: {pre}\n    post: {{path: b.tif}}\n"
    )
    return path


def test_source_defaults_are_the_files_bands_and_the_inference_scaling(tmp_path):
    source = load_catalog(_files_event(tmp_path, "{path: a.tif}")).event("x").pre
    assert source.bands is None and source.scaling is None and source.crs is None and source.acquired is None


def test_source_scaling_uses_the_io_scaling_vocabulary(tmp_path):
    from geovision.io.scaling import Scaling

    pre = "{path: a.tif, bands: [4, 3, 2], scaling: {method: fixed, low: 0, high: [2047, 2047, 4095]}}"
    source = load_catalog(_files_event(tmp_path, pre)).event("x").pre
    assert source.bands == [4, 3, 2]
    assert source.scaling.to_scaling() == Scaling(method="fixed", low=0.0, high=(2047.0, 2047.0, 4095.0))


@pytest.mark.parametrize(
    "pre, message",
    [
        ("{path: a.tif, band_names: [r, g, b]}", r"pre\.band_names: Extra"),  # metadata nothing read: removed
        ("{path: a.tif, bands: [0, 1, 2]}", r"pre\.bands\.0"),
        ("{path: a.tif, scaling: {method: range}}", r"pre\.scaling\.method"),
    ],
)
def test_bad_source_fields_are_rejected_naming_the_file(tmp_path, pre, message):
    with pytest.raises(ConfigError, match=rf"cat\.yaml.*{message}"):
        load_catalog(_files_event(tmp_path, pre))


def test_the_catalog_is_package_data_found_from_any_folder(tmp_path):
    package = Path(geovision.__file__).parent
    assert DEFAULT_CATALOG == package / "data_catalog.yaml" and DEFAULT_CATALOG.is_file()
    code = (
        "from geovision.catalog import load_catalog; c = load_catalog(); "
        "print(c.path); print(c.resolve(c.event('joplin-tornado-2011').xbd.images_dir))"
    )
    env = {"PYTHONPATH": str(package.parent), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    path, images = done.stdout.split()
    assert Path(path) == DEFAULT_CATALOG  # not a data_catalog.yaml of the working folder
    # `root: ..` keeps the paths where they were: ../shared/data beside the folder holding the package
    assert Path(images) == (package.parent.parent / "shared/data/xbd_joplin_tornado/images").resolve()


@pytest.mark.filterwarnings("ignore")  # setuptools on the project table's licence
def test_the_built_package_ships_the_catalog(monkeypatch):
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    root = Path(geovision.__file__).parents[1]
    monkeypatch.chdir(root)  # setuptools finds the packages from the project folder
    distribution = Distribution({"script_name": "setup.py"})
    build_py = apply_configuration(distribution, root / "pyproject.toml").get_command_obj("build_py")
    build_py.ensure_finalized()
    data = {name for package, _, _, names in build_py.data_files if package == "geovision" for name in names}
    assert DEFAULT_CATALOG.name in data  # pyproject's package-data takes it into the wheel


def test_a_catalog_root_moves_where_relative_paths_start(tmp_path):
    (tmp_path / "cats").mkdir()
    path = tmp_path / "cats" / "cat.yaml"
    path.write_text(
        "version: 1\nroot: ../data\nevents:\n  x: {title: t, kind: files, licence: CC0, "
        "pre: {path: a.tif}, post: {path: b.tif}}\n"
    )
    catalog = load_catalog(path)
    assert catalog.resolve(catalog.event("x").pre.path) == tmp_path / "data" / "a.tif"


@pytest.mark.parametrize(
    ("event", "needle"),
    [
        ("census: {path: c.gpkg, licence: CC0, name_field: NAME}", "census.name_field: Extra"),
        ("truth: {roads: r.gpkg}", "truth.roads: Extra"),
        ("pre: {path: a.tif, sensor: WV3}", "pre.sensor: Extra"),
        ("pre: {path: a.tif, gsd_m: 0.5}", "pre.gsd_m: Extra"),
        ("truth: {lost_classes: []}", "truth.lost_classes"),
    ],
)
def test_fields_nothing_reads_are_not_in_the_schema(tmp_path, event, needle):
    path = tmp_path / "cat.yaml"
    path.write_text(
        "version: 1\nevents:\n  x:\n    title: t\n    kind: files\n    licence: CC0\n"
        f"    post: {{path: b.tif}}\n    {event}\n" + ("    pre: {path: a.tif}\n" if "pre:" not in event else "")
    )
    with pytest.raises(ConfigError, match=needle):
        load_catalog(path)


def test_an_xbd_event_takes_its_damage_from_the_labels(tmp_path):
    path = tmp_path / "cat.yaml"
    xbd = "xbd: {images_dir: i, labels_dir: l, disaster: d, tiles: ['0']}"
    cases = (("{lost_classes: [destroyed]}", True), ("{damage_field: subtype}", True), ("{damage_field: x}", False))
    for truth, ok in cases:
        path.write_text(f"version: 1\nevents:\n  x: {{title: t, kind: xbd, licence: CC0, {xbd}, truth: {truth}}}\n")
        if ok:
            load_catalog(path)
        else:
            with pytest.raises(ConfigError, match="subtype"):
                load_catalog(path)
