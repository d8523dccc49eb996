"""The ``geovision synth`` command."""

from __future__ import annotations

import json

from click.testing import CliRunner

from geovision.cli.main import cli


def test_synth_command_writes_an_event(tmp_path):
    out = tmp_path / "scene"
    result = CliRunner().invoke(
        cli,
        [
            "synth",
            "--size",
            "200",
            "--seed",
            "3",
            "--event",
            "fire",
            "--origin",
            "400000",
            "4200000",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "buildings" in result.output and (out / "post.tif").is_file()
    info = json.loads((out / "event.json").read_text())
    assert (info["width"], info["height"], info["seed"], info["event"]) == (200, 200, 3, "fire")
    assert info["origin"] == [400000.0, 4200000.0]


def test_synth_command_refuses_to_overwrite_and_bad_sizes(tmp_path):
    out = tmp_path / "scene"
    runner = CliRunner()
    assert runner.invoke(cli, ["synth", "--width", "128", "--height", "96", "--out", str(out)]).exit_code == 0
    again = runner.invoke(cli, ["synth", "--width", "128", "--height", "96", "--out", str(out)])
    assert again.exit_code == 2 and "Error:" in again.output and "--overwrite" in again.output
    ok = runner.invoke(cli, ["synth", "--width", "128", "--height", "96", "--out", str(out), "--overwrite"])
    assert ok.exit_code == 0, ok.output
    both = runner.invoke(cli, ["synth", "--size", "128", "--width", "128", "--out", str(tmp_path / "b")])
    assert both.exit_code == 2 and "--size" in both.output
    none = runner.invoke(cli, ["synth", "--out", str(tmp_path / "c")])
    assert none.exit_code == 2 and "size" in none.output
    bad_crs = runner.invoke(cli, ["synth", "--size", "128", "--crs", "EPSG:4326", "--out", str(tmp_path / "d")])
    assert bad_crs.exit_code == 2 and "EPSG:4326" in bad_crs.output
