import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from geovision.pipeline.report_stage import report
from geovision.pipeline.run import Run, RunConfig, StageRecord
from geovision.runrecord import read_run_record


def test_report_stage_records_its_outputs(full_run):
    raw = json.loads((full_run / "run.json").read_text())
    assert raw["stages"]["report"]["outputs"]["report_html"] == "report.html"  # relative to the run folder
    assert raw["stages"]["vectorize"]["outputs"]["buildings_gpkg"] == "vectors/buildings.gpkg"
    record = read_run_record(full_run)
    stage = record["stages"]["report"]
    assert stage["status"] == "done"
    cells = record["stages"]["impact_buildings"]["figures"]["cells"]
    layers = stage["figures"]["layers"]
    assert layers == {
        "buildings": record["stages"]["vectorize"]["figures"]["buildings_before"],
        "roads": layers["roads"],
        "grid": cells,
        "admin_units": 2,
        "reference_grid": cells,
    }
    assert layers["roads"] > 0
    outputs = {name: Path(path) for name, path in stage["outputs"].items()}
    assert outputs["report_html"] == full_run / "report.html"
    assert outputs["stac_catalog"] == full_run / "stac" / "catalog.json"
    assert outputs["gpkg"] == full_run / "geovision.gpkg"
    assert all(path.exists() for path in outputs.values())


def test_report_stage_resumes_when_nothing_changed(reference_run, sample_runs, tmp_path_factory):
    inputs = sample_runs.sample_event(tmp_path_factory.getbasetemp() / "report-runs" / "event")
    previous = json.loads((reference_run / "run.json").read_text())
    run = Run(inputs, reference_run, RunConfig(grid={"cell_px": sample_runs.CELL_PX}))
    run.stages = {name: StageRecord(**stage) for name, stage in previous["stages"].items() if name != "report"}
    before = (reference_run / "report.html").stat().st_mtime_ns
    record = report(run)
    assert record.status == "done" and record.reason.startswith("resumed")
    assert (reference_run / "report.html").stat().st_mtime_ns == before


@pytest.mark.slow
def test_demo_run_then_report(tmp_path, monkeypatch):
    """The real demo event (2048 px) through `geovision run`, then the report stage on its folder."""
    from geovision.cli.main import cli
    from geovision.pipeline.events import materialise
    from geovision.report.stac import validate_catalog

    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    previous = json.loads((out / "run.json").read_text())
    if "report" not in previous["stages"]:  # until the lead registers the stage in stages.STAGES
        run = Run(materialise("demo"), out, RunConfig())
        run.stages = {name: StageRecord(**stage) for name, stage in previous["stages"].items()}
        assert report(run).status == "done"
    assert (out / "report.html").exists() and validate_catalog(out / "stac" / "catalog.json") == 1
