"""run.json formats: a record of the previous format (flat ``options``) reads as the sectioned ``config``."""

from __future__ import annotations

import json

import pytest

from geovision.errors import CorruptFileError
from geovision.runrecord import RECORD_FORMAT, RunRecord

#: the top of a run.json written by geovision before RunConfig (format 1: no `format`, flat `options`)
FORMAT_1 = {
    "geovision": "0.1.0",
    "python": "3.11.9",
    "created_by": "geovision run",
    "inputs": {"name": "demo", "pre": "/data/pre.tif", "post": "/data/post.tif", "sha256": {}},
    "options": {
        "model": "default",
        "runtime": "auto",
        "device": "auto",
        "chip_px": 512,
        "overlap_px": 64,
        "batch_windows": 0,
        "scheduler": None,
        "cell_px": 128,
        "tau": 0.5,
        "theta_buildings": 0.2,
        "theta_roads": 0.3,
        "tolerance_px": 2,
        "min_building_m2": 10.0,
        "adapt_minutes": 10.0,
    },
    "stages": {"inputs": {"name": "inputs", "status": "done", "key": "0123456789abcdef", "outputs": {}}},
    "versions": {},
    "complete": True,
}


def write(folder, document) -> None:
    (folder / "run.json").write_text(json.dumps(document))


def test_a_format_1_record_reads_with_its_options_in_sections(tmp_path):
    write(tmp_path, FORMAT_1)
    record = RunRecord.load(tmp_path)
    assert record.format == RECORD_FORMAT and record.finished()
    assert record.config.grid.cell_px == 128
    assert record.config.grid.theta.buildings == 0.2 and record.config.grid.theta.roads == 0.3
    document = record.document()
    assert "options" not in document and document["config"]["grid"]["cell_px"] == 128
    record.write(tmp_path)  # written back in the current format
    assert json.loads((tmp_path / "run.json").read_text())["format"] == RECORD_FORMAT


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({**FORMAT_1, "options": {**FORMAT_1["options"], "colour": "red"}}, "colour"),  # an option this version lacks
        ({**FORMAT_1, "options": {**FORMAT_1["options"], "cell_px": -1}}, "grid.cell_px"),
        ({"format": RECORD_FORMAT + 1}, "newer"),
    ],
)
def test_a_record_that_does_not_read_says_to_rerun(tmp_path, document, needle):
    write(tmp_path, document)
    with pytest.raises(CorruptFileError, match="--overwrite") as error:
        RunRecord.load(tmp_path)
    assert needle in str(error.value) and "\n" not in str(error.value)
