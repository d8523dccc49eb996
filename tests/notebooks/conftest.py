"""The notebooks run on the seeded run folders of the report tests (built once per session)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SAMPLE_RUN = Path(__file__).resolve().parents[1] / "report" / "sample_run.py"


@pytest.fixture(scope="session")
def sample_runs():
    spec = importlib.util.spec_from_file_location("geovision_report_tests_sample_run", SAMPLE_RUN)
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def full_run(sample_runs, tmp_path_factory) -> Path:
    return sample_runs.full_run(tmp_path_factory.getbasetemp() / "report-runs")


@pytest.fixture(scope="session")
def reference_run(sample_runs, tmp_path_factory) -> Path:
    return sample_runs.reference_run(tmp_path_factory.getbasetemp() / "report-runs")
