"""The run's outputs in a real QGIS (Debian's python3-qgis, headless): every layer styled, every feature drawn.

PyQGIS belongs to the system Python, so ``qgis_check.py`` runs there as a subprocess
(``make install`` installs it; CI must have it, elsewhere the test is skipped with the reason).
The helpers are in ``qgis_layers.py``.
"""

from __future__ import annotations

from tests.report.qgis_layers import check_layers, qgis_report


def test_qgis_draws_every_layer_of_the_sample_run(full_run, tmp_path):
    check_layers(qgis_report(full_run, tmp_path), full_run)


def test_qgis_draws_every_layer_of_the_demo_run(demo_run, tmp_path):
    report = qgis_report(demo_run, tmp_path)
    check_layers(report, demo_run)
    probabilities = [e for e in report["layers"] if "probability" in e.get("description", "")]
    assert len(probabilities) == 4  # the model's probability COGs carry their scale and description
