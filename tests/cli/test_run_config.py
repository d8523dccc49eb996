"""`geovision run --config FILE -o key=value --dry-run` (issue 15.3) and `--help` without torch."""

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
    config.write_text("cell_px: 128\ntheta_buildings: 0.3\nchip_px: 256\n")
    options = dry_run(tmp_path, "--config", str(config), "--theta", "0.25", "-o", "chip_px=384")["options"]
    assert options["cell_px"] == 128  # from the file
    assert options["theta_buildings"] == options["theta_roads"] == 0.25  # the flag wins over the file
    assert options["chip_px"] == 384  # -o wins over both
    assert dry_run(tmp_path)["options"]["cell_px"] == 256  # the defaults, in one place (RunOptions)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-o", "cell_px=many"], "cell_px"),
        (["-o", "no_such_option=1"], "no_such_option"),
        (["-o", "cell_px"], "key=value"),
    ],
)
def test_a_bad_option_is_one_line_exit_2(tmp_path, args, needle):
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "out"), "--dry-run", *args])
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def test_a_config_file_with_unknown_keys_names_the_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("cell_size: 128\n")
    result = CliRunner().invoke(cli, ["run", "demo", "--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code == 2 and "run.yaml" in result.output and "cell_size" in result.output


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
