import click
from click.testing import CliRunner

from geovision import __version__
from geovision.cli import main as cli_main
from geovision.errors import MissingFileError


def test_version():
    result = CliRunner().invoke(cli_main.cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_doctor_prints_stack_and_exits_0():
    result = CliRunner().invoke(cli_main.cli, ["doctor"])
    assert result.exit_code == 0, result.output
    for name in ("python", "torch", "GDAL", "PROJ", "rasterio drivers", "CUDA available", "torch threads"):
        assert name in result.output
    assert "stack OK" in result.output


def test_doctor_fails_with_fix_when_stack_broken(monkeypatch):
    from geovision import doctor

    monkeypatch.setattr(doctor, "REQUIRED_DRIVERS", ("GTiff", "NoSuchDriver"))
    result = CliRunner().invoke(cli_main.cli, ["doctor"])
    assert result.exit_code == 2
    assert "NoSuchDriver" in result.output and "Fix:" in result.output


def _failing_command():
    @click.command("boom")
    def boom():
        raise MissingFileError("input not found", path="/data/pre.tif", fix="check the path")

    return boom


def test_geovision_errors_exit_2_with_one_line(monkeypatch):
    monkeypatch.setattr(
        cli_main.LazyGroup, "get_command", lambda self, ctx, name: _failing_command() if name == "boom" else None
    )
    result = CliRunner().invoke(cli_main.cli, ["boom"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: /data/pre.tif: input not found. Fix: check the path"
    verbose = CliRunner().invoke(cli_main.cli, ["-v", "boom"])
    assert verbose.exit_code == 2 and "Traceback" in verbose.output


def test_help_lists_only_existing_commands():
    result = CliRunner().invoke(cli_main.cli, ["--help"])
    assert result.exit_code == 0 and "doctor" in result.output
    assert all(cmd in cli_main.COMMANDS for cmd in cli_main.LazyGroup().list_commands(None))
