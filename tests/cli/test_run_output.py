"""What `geovision run` prints (summary, --json, -q), the checks before any work, and the small commands."""

from __future__ import annotations

import json
import shutil

import numpy as np
from click.testing import CliRunner

from geovision.cli import main as cli_main
from geovision.progress import _lines, set_quiet


def test_missing_input_stops_before_any_stage_and_writes_no_record(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli_main.cli,
        ["run", "--pre", str(tmp_path / "nope.tif"), "--post", str(tmp_path / "nope2.tif"), "--out", str(out)],
    )
    assert result.exit_code == 2 and "pre-event image does not exist" in result.output
    assert "stage" not in result.output and not (out / "run.json").exists()


def test_events_lists_the_catalog():
    result = CliRunner().invoke(cli_main.cli, ["events"])
    assert result.exit_code == 0 and "demo" in result.output and "joplin-tornado-2011" in result.output
    rows = json.loads(CliRunner().invoke(cli_main.cli, ["events", "--json"]).output)
    assert {"name", "date", "kind", "requires", "title"} <= set(rows[0])


def test_events_say_ready_only_when_their_files_are_there(tmp_path):
    event = (
        "  x:\n    title: t\n    kind: xbd\n    licence: l\n    requires: shared-data\n"
        "    xbd: {images_dir: data/images, labels_dir: data/labels, disaster: d, tiles: ['0']}\n"
    )
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("events:\n" + event)
    status = lambda: json.loads(  # noqa: E731
        CliRunner().invoke(cli_main.cli, ["events", "--catalog", str(catalog), "--json"]).output
    )[0]["status"]
    assert status() == "needs ../shared/data"
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "labels").mkdir()
    assert status() == "ready"


def test_help_texts_have_no_literal_percent_signs_and_every_run_option_is_explained():
    assert "%%" not in CliRunner().invoke(cli_main.cli, ["impact", "--help"]).output
    command = cli_main.LazyGroup().get_command(None, "run")
    unexplained = [p.name for p in command.params if getattr(p, "help", "x") in (None, "") and p.name != "event"]
    assert unexplained == []


def test_progress_prints_periodic_lines_off_a_terminal(monkeypatch, capsys):
    import geovision.progress as progress

    ticks = iter(np.arange(0, 100, 6.0))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(ticks)))
    assert list(_lines(range(5), 5, "segmenting")) == list(range(5))
    lines = capsys.readouterr().out.splitlines()
    assert lines and lines[-1].startswith("segmenting: 5/5 (100 %)")
    set_quiet(True)
    try:
        assert list(progress.progress(range(3), total=3, description="x")) == [0, 1, 2]
        assert capsys.readouterr().out == ""
    finally:
        set_quiet(False)


def _copy(demo_run, tmp_path):
    copy = tmp_path / "moved-run"
    shutil.copytree(demo_run, copy)
    return copy


def test_a_moved_run_resumes_quietly_and_prints_the_summary(demo_run, tmp_path):
    """run.json paths are relative: a copy of the demo run resumes every stage where it now lies."""
    copy = _copy(demo_run, tmp_path)
    quiet = CliRunner().invoke(cli_main.cli, ["-q", "run", "demo", "--out", str(copy)])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == ""
    record = json.loads((copy / "run.json").read_text())
    assert all("resumed" in stage["reason"] for stage in record["stages"].values() if stage["status"] == "done")
    assert {n for n, stage in record["stages"].items() if stage["status"] != "done"} == {"adapt"}  # no --adapt-with
    assert all(
        not path.startswith("/")
        for stage in record["stages"].values()
        if stage["name"] != "inputs"
        for path in stage["outputs"].values()
    )
    loud = CliRunner().invoke(cli_main.cli, ["run", "demo", "--out", str(copy)])
    assert "stage segment started" in loud.output
    for text in (
        "buildings lost:",
        "people affected:",
        "95 % interval",
        "roads lost:",
        " km of ",
        "impacted cells:",
        " m x ",
        "report.html",
        "geovision.gpkg",
    ):
        assert text in loud.output, (text, loud.output)
    assert len(loud.output.splitlines()) < 40
    figures = json.loads(CliRunner().invoke(cli_main.cli, ["run", "demo", "--out", str(copy), "--json"]).stdout)
    assert figures["buildings_lost"] == record["stages"]["vectorize"]["figures"]["buildings_lost"]
    assert figures["cell_m"] == 128.0 and figures["interval_level"] == 0.95
