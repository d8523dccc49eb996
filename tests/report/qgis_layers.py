"""Load a run's outputs in a real QGIS and check what it draws (shared by test_qgis and test_real_events).

PyQGIS belongs to the system Python, so ``qgis_check.py`` runs there as a subprocess
(``make install`` installs it; CI must have it, elsewhere the tests are skipped with the reason).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = os.environ.get("GEOVISION_QGIS_PYTHON", "/usr/bin/python3")
MAX_BLANK_SHARE = 0.1  # of sampled data places: a 1-px feature may vanish when 2048 px are drawn on 800


def qgis_python_or_skip() -> str:
    """The system Python with PyQGIS; in CI a missing one fails, elsewhere it skips."""
    found = shutil.which(SYSTEM_PYTHON)
    if found and subprocess.run([found, "-c", "import qgis.core"], capture_output=True).returncode == 0:
        return found
    reason = f"PyQGIS is not importable by {SYSTEM_PYTHON} (install it: `make qgis`, i.e. apt-get install python3-qgis)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def qgis_report(run_dir: Path, out: Path) -> dict:
    python = qgis_python_or_skip()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(out)}
    done = subprocess.run(
        [python, str(HERE / "qgis_check.py"), str(run_dir), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


EXPECTED = {
    "buildings": "categorizedSymbol",
    "roads_damaged": "RuleRenderer",
    "damaged_roads": "RuleRenderer",
    "roads": "RuleRenderer",
    "grid": "RuleRenderer",
    "admin_units": "RuleRenderer",
    "reference_grid": "RuleRenderer",
    "buildings_impact": "RuleRenderer",
    "roads_impact": "RuleRenderer",
}


def check_layers(report: dict, run_dir: Path) -> None:
    layers = {entry["layer"]: entry for entry in report["layers"]}
    vectors = {p.relative_to(run_dir).as_posix() for p in run_dir.glob("*/*.geojson")}
    rasters = {p.relative_to(run_dir).as_posix() for p in run_dir.glob("*/*.tif")}
    assert vectors | rasters <= set(layers), "every output is loaded"
    for name, entry in layers.items():
        assert entry["valid"], name
        if entry["kind"] == "vector":
            stem = name.split(":")[-1] if ":" in name else Path(name).stem
            assert entry["renderer"] == EXPECTED[stem], entry
            assert entry["features"] > 0 and entry["without_symbol"] == 0, entry
        else:
            assert entry["renderer"] == "singlebandpseudocolor", entry
            assert entry["style_min"] <= entry["data_min"], entry
            if "probability" in entry["description"]:  # stored p x 254, scale 1/254: QGIS sees 0-1, styled 0-1
                assert entry["scale"] == pytest.approx(1 / 254) and entry["style_max"] == 1.0, entry
                assert entry["data_max"] <= 1.0, entry
        if entry["sampled"]:
            assert entry["blank"] <= MAX_BLANK_SHARE * entry["sampled"], entry
    buildings = layers["geovision.gpkg:buildings"]
    assert buildings["sampled"] > 0 and buildings["blank"] == 0, "buildings are drawn where they are"
    assert Path(report["all_png"]).stat().st_size > 10_000
