"""`geovision run --config FILE -o section.key=value --dry-run` (issue 15.3) and `--help` without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from geovision.cli.main import cli


def dry_run(tmp_path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "out"), "--dry-run", *args])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out").exists()  # a dry run writes nothing
    return yaml.safe_load(result.stdout)


def test_config_file_then_flags_then_overrides(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("grid: {cell_px: 128, theta: {buildings: 0.3}}\nsegment: {chip_px: 256}\n")
    args = ["--config", str(config), "--theta", "0.25", "-o", "segment.chip_px=384", "-o", "grid.theta.roads=0.2"]
    resolved = dry_run(tmp_path, *args)["config"]
    assert resolved["grid"]["cell_px"] == 128  # from the file
    assert resolved["grid"]["theta"] == {"buildings": 0.25, "roads": 0.2}  # the flag wins over the file, -o over both
    assert resolved["segment"]["chip_px"] == 384  # -o wins over the file
    defaults = dry_run(tmp_path)["config"]
    assert defaults["grid"]["cell_px"] == 256 and defaults["vectors"]["min_building_m2"] == 10.0  # geovision.defaults
    assert set(defaults) == {"segment", "grid", "vectors", "population", "roads", "adapt"}


def test_every_run_flag_maps_onto_a_section(tmp_path):
    args = ["--model", "unet", "--runtime", "fp32", "--device", "cpu", "--scheduler", "local", "--cell-px", "64"]
    args += ["--skip-post-without-features"]
    resolved = dry_run(tmp_path, *args, "--theta", "0.3", "--adapt-minutes", "2")["config"]
    assert resolved["segment"] == {
        "model": "unet",
        "runtime": "fp32",
        "device": "cpu",
        "chip_px": 512,
        "overlap_px": 64,
        "batch_windows": 0,
        "scheduler": "local",
        "skip_post_without_features": True,
    }
    assert resolved["grid"]["cell_px"] == 64 and resolved["grid"]["theta"] == {"buildings": 0.3, "roads": 0.3}
    assert resolved["adapt"]["minutes"] == 2.0


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["-o", "grid.cell_px=many"], ["-o grid.cell_px=many", "grid.cell_px"]),
        (["-o", "grid.no_such_option=1"], ["grid.no_such_option"]),
        (["-o", "cell_px=128"], ["cell_px is now grid.cell_px"]),  # the flat names of earlier versions
        (["-o", "grid.cell_px"], ["key=value"]),
        (["-o", "grid.tau=2"], ["grid.tau", "less than or equal to 1"]),
        (["-o", "segment.overlap_px=256"], ["overlap_px 256 leaves nothing"]),
        (["--theta", "nan"], ["--theta", "grid.theta.buildings", "finite"]),
    ],
)
def test_a_bad_setting_is_one_line_exit_2(tmp_path, args, needles):
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "out"), "--dry-run", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and all(needle in result.output for needle in needles)


def test_a_config_file_with_unknown_keys_names_the_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("grid: {cell_size: 128}\n")
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code == 2 and "run.yaml" in result.output and "grid.cell_size" in result.output


@pytest.mark.parametrize("command", ["run", "segment", "train", "pretrain", "adapt", "impact", "population"])
def test_help_imports_no_torch(command):
    code = (
        "import sys\nfrom geovision.cli.main import cli\n"
        f"try:\n    cli(['{command}', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_training_commands_take_section_key_overrides(tmp_path):
    from geovision.cli.options import training_config
    from geovision.errors import ConfigError

    config = tmp_path / "train.yaml"
    config.write_text("trainer: {steps: 100, device: cpu}\noptim: {lr: 0.01}\n")
    common = {"output_dir": None, "data_root": None, "batch_size": None, "device": None}
    raw = training_config(str(config), steps=5, overrides=("optim.lr=0.001", "trainer.log_every=2"), **common)
    assert raw["trainer"] == {"steps": 5, "device": "cpu", "log_every": 2} and raw["optim"] == {"lr": 0.001}
    with pytest.raises(ConfigError, match="not a section"):
        training_config(str(config), steps=None, overrides=("optim.lr.x=1",), **common)
