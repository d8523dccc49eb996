"""RunConfig: sections with their defaults in geovision.defaults, strict, layered by resolve_config (issue 15.3)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from geovision import defaults
from geovision.errors import ConfigError
from geovision.runconfig import LEGACY_NAMES, RunConfig, from_legacy, resolve_config


def test_the_defaults_are_those_of_geovision_defaults():
    config = RunConfig()
    assert (config.grid.cell_px, config.grid.tau, config.grid.tolerance_px) == (
        defaults.CELL_PX,
        defaults.TAU,
        defaults.TOLERANCE_PX,
    )
    assert config.grid.theta.buildings == config.grid.theta.roads == defaults.THETA
    assert (config.segment.chip_px, config.segment.overlap_px) == (defaults.CHIP_PX, defaults.OVERLAP_PX)
    assert config.vectors.min_building_m2 == defaults.MIN_BUILDING_M2 and config.adapt.minutes == defaults.ADAPT_MINUTES
    assert config.population.weighting == defaults.POP_WEIGHTING and config.roads.lines is None


def test_dotted_fields_and_values():
    config = RunConfig(grid={"cell_px": 64, "theta": 0.3})  # a bare theta sets both features
    assert config.value("grid.cell_px") == 64 and config.value("grid.theta") == {"buildings": 0.3, "roads": 0.3}
    assert "grid.theta.roads" in RunConfig.fields() and "segment.model" in RunConfig.fields()
    assert set(RunConfig.fields()) == set(config.flat())
    with pytest.raises(KeyError, match="grid.cell_size"):
        config.value("grid.cell_size")


@pytest.mark.parametrize(
    "values",
    [
        {"grid": {"cell_size": 1}},  # unknown key
        {"cell_px": 128},  # a flat name of earlier versions
        {"grid": {"theta": {"buildings": float("nan")}}},
        {"grid": {"tau": 0}},
        {"segment": {"chip_px": 100}},  # not a multiple of 32
        {"segment": {"chip_px": 128, "overlap_px": 64}},
        {"population": {"weighting": "people"}},
        {"adapt": {"minutes": 0.1}},
    ],
)
def test_invalid_values_are_refused(values):
    with pytest.raises(ValidationError):
        RunConfig.model_validate(values)


def test_a_config_is_immutable():
    with pytest.raises(ValidationError):
        RunConfig().grid.cell_px = 1  # type: ignore[misc]


def test_layers_file_then_flags_then_overrides_each_named_in_errors(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("grid: {cell_px: 128, theta: 0.3}\nroads: {lines: roads.gpkg}\n")
    config = resolve_config(config=path, flags={"--theta": {"grid.theta": 0.2}}, overrides=["grid.theta.roads=0.4"])
    assert config.grid.cell_px == 128 and config.value("grid.theta") == {"buildings": 0.2, "roads": 0.4}
    assert config.roads.lines is not None and config.roads.lines.endswith("roads.gpkg")  # made absolute
    with pytest.raises(ConfigError, match=r"^--cell-px: invalid run config: grid\.cell_px"):
        resolve_config(flags={"--cell-px": {"grid.cell_px": 0}})
    with pytest.raises(ConfigError, match=r"run\.yaml: invalid run config: grid\.cell_px"):
        path.write_text("grid: {cell_px: many}\n")
        resolve_config(config=path)


def test_flat_options_of_earlier_records_map_onto_the_sections():
    flat = {"cell_px": 128, "theta_roads": 0.2, "min_building_m2": 5.0, "adapt_minutes": 3.0, "chip_px": 256}
    config = RunConfig.model_validate(from_legacy(flat))
    assert config.grid.cell_px == 128 and config.grid.theta.roads == 0.2 and config.grid.theta.buildings == 0.1
    assert config.vectors.min_building_m2 == 5.0 and config.adapt.minutes == 3.0 and config.segment.chip_px == 256
    assert set(LEGACY_NAMES.values()) <= set(RunConfig.fields())
    with pytest.raises(ValueError, match="no_such_option"):
        from_legacy({"no_such_option": 1})
