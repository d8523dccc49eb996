"""The data registry: SOURCES.md's evaluation-only splits, enforced on every shipped config."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from geovision.data.registry import expand_braces, load_registry, resolve_registry
from geovision.errors import ConfigError
from geovision.pretrain.config import load_distill_config, load_ssl_config, load_weak_config
from geovision.train.config import load_config

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "configs" / "data" / "sources.yaml"
CONFIGS = sorted((REPO / "configs" / "train").glob("*.yaml")) + sorted((REPO / "configs" / "pretrain").glob("*.yaml"))
LOADERS = {"ssl": load_ssl_config, "distill": load_distill_config, "weak": load_weak_config}

# SOURCES.md, "Suggested use": evaluation only, never trained on (globs under ../shared/data).
EVALUATION_ONLY = [
    "xbd_joplin_tornado/images/joplin-tornado_00000000_*",
    "xbd_joplin_tornado/labels/joplin-tornado_00000000_*",
    "deepglobe_roads/train/388_*",
    "cil_roads/*/satImage_07[1-9].png",
    "cil_roads/*/satImage_080.png",
    "spacenet1_rio_buildings/*/3band_013022223130_Public_img5[67].tif",
    "xbd_three_events/*",
    "spacenet3_vegas_roads_apls/images/*img0*",
    "spacenet3_vegas_roads_apls/gt_json_prop_wkt/*/*img0*",
]


@pytest.fixture(scope="module")
def evaluation_files(shared_data) -> set[Path]:
    files = {Path(p).resolve() for pattern in EVALUATION_ONLY for p in glob.glob(str(shared_data / pattern))}
    assert len(files) > 30  # the patterns match real files (10 CIL tiles and masks alone are 20)
    return files


def source_files(source, resolve=Path) -> set[Path]:
    """Every data file a source reads (image, which may be a glob, pair, labels, masks), resolved."""
    fields = source.model_dump()
    paths = [fields.get(key) for key in ("image", "pair", "labels")]
    for key in ("labels", "masks"):
        if isinstance(fields.get(key), dict):
            paths += list(fields[key].values())
    return {
        Path(p).resolve()
        for path in paths
        if isinstance(path, str)
        for pattern in expand_braces(str(resolve(path)))
        for p in glob.glob(pattern)
    }


def _load(path: Path):
    loader = next((f for prefix, f in LOADERS.items() if path.name.startswith(prefix)), load_config)
    config = loader(path)
    trained = list(getattr(config.data, "train", None) or getattr(config.data, "sources", None) or [])
    distill = getattr(config, "distill", None)
    if distill is not None:
        trained += distill.unlabelled
    return config, trained


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
@pytest.mark.realdata
def test_no_evaluation_tile_in_a_shipped_config(path, evaluation_files):
    config, trained = _load(path)
    assert trained, f"{path.name} has no training sources"
    for source in trained:
        leaked = sorted(f.name for f in source_files(source, config.resolve) & evaluation_files)
        assert not leaked, f"{path.name} trains on evaluation-only data: {leaked}"
    val = list(getattr(config.data, "val", None) or [])
    if any(source_files(s, config.resolve) & evaluation_files for s in val):
        # validation may watch evaluation sets, but must not pick the weights
        assert config.bundle.select == "last", f"{path.name} selects its best step on evaluation data"


@pytest.mark.realdata
def test_registry_eval_split_is_sources_md(shared_data, evaluation_files):
    registry = load_registry(REGISTRY)
    images = {p.resolve() for entry in registry.by_split("eval") for p in entry.images(shared_data)}
    evaluation_images = {
        f
        for f in evaluation_files
        if "labels" not in f.parts
        and "gt_json_prop_wkt" not in f.parts
        and "groundtruth" not in f.parts
        and "masks" not in f.parts
        and not f.name.endswith(("_mask.png", ".csv"))
        and "_post_" not in f.name
    }
    joplin_post = {f for f in evaluation_files if f.name == "joplin-tornado_00000000_post_disaster.png"}
    assert evaluation_images | joplin_post == images
    for entry in registry.by_split("train"):
        assert not {p.resolve() for p in entry.images(shared_data)} & evaluation_files, entry.name


@pytest.mark.realdata
def test_registry_expands_one_source_per_file_with_the_weight_shared(shared_data):
    registry = load_registry(REGISTRY)
    sources = registry["cil-roads-train"].sources(shared_data, weight=7.0)
    assert len(sources) == 70
    assert sum(s["weight"] for s in sources) == pytest.approx(7.0)
    first = sources[0]
    assert Path(first["masks"]["roads"]).name == Path(first["image"]).name  # {stem} of satImage_001.png
    deepglobe = registry["deepglobe-roads-train"].sources(shared_data)
    assert [Path(s["masks"]["roads"]).name for s in deepglobe] == ["104_mask.png", "113_mask.png", "343_mask.png"]


@pytest.mark.realdata
def test_a_training_config_cannot_use_an_evaluation_entry(shared_data, tmp_path):
    raw = {
        "data_registry": str(REGISTRY),
        "data_root": str(shared_data),
        "data": {"train": [{"use": "deepglobe-388-eval"}]},
    }
    with pytest.raises(ConfigError, match="split is 'eval'"):
        resolve_registry(raw, tmp_path)
    raw["data"]["train"] = [{"use": "no-such-source"}]
    with pytest.raises(ConfigError, match="unknown data source"):
        resolve_registry(raw, tmp_path)


def test_brace_expansion():
    assert expand_braces("a{1,2}b{x,y}") == ["a1bx", "a1by", "a2bx", "a2by"]
    assert expand_braces("img{5[0-2],6[34]}.tif") == ["img5[0-2].tif", "img6[34].tif"]
    assert expand_braces("plain*.png") == ["plain*.png"]
