import json

import pytest

from geovision.errors import CorruptFileError, MissingFileError
from geovision.report.figures import format_number, headline_figures, lookup
from geovision.runrecord import read_run_record


def _record(**stages):
    return {"stages": {name: {"status": "done", "figures": figures} for name, figures in stages.items()}}


def test_headline_values_are_the_record_values_unchanged():
    record = _record(
        vectorize={"buildings_lost": 12, "buildings_before": 40, "building_area_lost_m2": 1500.25},
        impact_roads={"road_lost_m": 1234.5, "road_length_m": 9000.0},
        impact_buildings={
            "population": {
                "persons_impacted": 77.7,
                "persons_lost": 10.2,
                "persons_lost_low": 5.0,
                "persons_lost_high": 15.5,
            }
        },
    )
    figures = {f.key: f for f in headline_figures(record)}
    assert figures["buildings_lost"].value == 12 and figures["buildings_lost"].display() == "12"
    assert figures["road_km_lost"].value == 1234.5 and figures["road_km_lost"].display() == "1.23 km"
    assert figures["persons_lost"].low == 5.0 and figures["persons_lost"].high == 15.5
    assert figures["persons_lost"].display_interval() == "5–16"
    assert figures["persons_impacted"].display_interval() == ""
    assert figures["building_area_lost"].display() == "1,500 m²"


def test_missing_stage_gives_no_value_and_says_why():
    record = {"stages": {"vectorize": {"status": "skipped", "reason": "no predicted masks", "figures": {}}}}
    figure = next(f for f in headline_figures(record) if f.key == "buildings_lost")
    assert figure.value is None and not figure.available
    assert "skipped" in figure.note and "no predicted masks" in figure.note
    assert figure.display() == "n/a"


def test_non_numbers_are_not_headlines():
    record = _record(vectorize={"buildings_lost": True, "buildings_before": float("nan")})
    figures = {f.key: f for f in headline_figures(record)}
    assert figures["buildings_lost"].value is None and figures["buildings_before"].value is None


def test_lookup_nested_and_absent():
    record = _record(reference={"evaluation": {"at_theta": {"f1": 0.5}}})
    assert lookup(record, "reference.evaluation.at_theta.f1") == 0.5
    assert lookup(record, "reference.evaluation.best.f1") is None
    assert lookup(record, "nothing.here") is None


def test_format_number():
    assert format_number(1234567.891, 2) == "1,234,567.89"
    assert format_number(0.4) == "0"


def test_read_run_record_errors(tmp_path):
    with pytest.raises(MissingFileError, match="run.json"):
        read_run_record(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(CorruptFileError):
        read_run_record(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"stages": {}}))
    assert read_run_record(tmp_path)["stages"] == {}
