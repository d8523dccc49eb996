import pytest

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
    assert source.bands is None and source.band_names is None and source.scaling is None and source.crs is None


def test_source_scaling_uses_the_io_scaling_vocabulary(tmp_path):
    from geovision.io.scaling import Scaling

    pre = "{path: a.tif, bands: [4, 3, 2], scaling: {method: fixed, low: 0, high: [2047, 2047, 4095]}}"
    source = load_catalog(_files_event(tmp_path, pre)).event("x").pre
    assert source.bands == [4, 3, 2]
    assert source.scaling.to_scaling() == Scaling(method="fixed", low=0.0, high=(2047.0, 2047.0, 4095.0))


@pytest.mark.parametrize(
    "pre, message",
    [
        ("{path: a.tif, bands: [1, 2], band_names: [r, g, b]}", "same length"),
        ("{path: a.tif, bands: [0, 1, 2]}", r"pre\.bands\.0"),
        ("{path: a.tif, scaling: {method: range}}", r"pre\.scaling\.method"),
    ],
)
def test_bad_source_fields_are_rejected_naming_the_file(tmp_path, pre, message):
    with pytest.raises(ConfigError, match=rf"cat\.yaml.*{message}"):
        load_catalog(_files_event(tmp_path, pre))
