"""The two catalog events that run offline, end to end with the shipped default model.

`geovision run demo` (synthetic) and `geovision run joplin-tornado-2011` (xBD tiles from
../shared/data) produce the same set of outputs, except what needs a census or an
affected-area truth layer, which only the synthetic event has; the Joplin grid F1 of the
predicted against the ground-truth impacted cells stays above the issue's 0.8; a real QGIS
draws every feature of both runs with the styles they ship.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from geovision.catalog import DEFAULT_CATALOG
from geovision.cli.main import cli
from tests.report.qgis_layers import check_layers, qgis_report

pytestmark = pytest.mark.realdata

STAGES = {"inputs", "reference", "segment", "vectorize", "impact_buildings", "impact_roads", "evaluate", "report"}
#: outputs that need a census (admin units) or truth polygons of the affected area
CENSUS_OR_AREA_TRUTH = {
    "gis/admin_units.geojson",
    "gis/admin_units.qml",
    "impact/buildings_affected_by_unit.csv",
    "impact/buildings_pr_curve.csv",
    "impact/buildings_pr_curve.png",
    "reference/buildings_pr_curve.csv",
    "reference/buildings_pr_curve.png",
}


def _run(event, out, catalog):
    result = CliRunner().invoke(cli, ["run", event, "--out", str(out), "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert {name for name, stage in record["stages"].items() if stage["status"] == "done"} == STAGES
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return record, {f for f in files if not f.startswith("stac/")}


@pytest.fixture
def catalog(shared_data, tmp_path):
    """The repository's catalog, its Joplin folders pointed at wherever the shared data is."""
    document = yaml.safe_load(DEFAULT_CATALOG.read_text())
    xbd = document["events"]["joplin-tornado-2011"]["xbd"]
    xbd["images_dir"] = str(shared_data / "xbd_joplin_tornado" / "images")
    xbd["labels_dir"] = str(shared_data / "xbd_joplin_tornado" / "labels")
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_demo_and_joplin_give_the_same_outputs(catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    demo, demo_files = _run("demo", tmp_path / "demo", catalog)
    joplin, joplin_files = _run("joplin-tornado-2011", tmp_path / "joplin", catalog)
    assert CENSUS_OR_AREA_TRUTH <= demo_files
    assert joplin_files == demo_files - CENSUS_OR_AREA_TRUTH
    assert joplin["inputs"]["event_date"] == "2011-05-22"
    assert joplin["figures"]["evaluate"]["f1"] >= 0.8  # issue 7: measured 0.889
    population = demo["figures"]["impact_buildings"]["population"]
    for quantity in ("persons_lost", "persons_impacted"):
        assert population[f"{quantity}_low"] <= population[f"{quantity}_expected"] <= population[f"{quantity}_high"]
    for out in (tmp_path / "demo", tmp_path / "joplin"):  # issue 16: QGIS draws every feature of both runs
        check_layers(qgis_report(out, tmp_path / f"qgis-{out.name}"), out)
