"""Fixtures of the report tests: seeded run folders (built once per session) and the browser helper."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def load_helper(name: str):
    """Import a helper module of this folder (tests are collected with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(f"geovision_report_tests_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_runs(tmp_path_factory):
    return load_helper("sample_run")


@pytest.fixture(scope="session")
def full_run(sample_runs, tmp_path_factory) -> Path:
    return sample_runs.full_run(tmp_path_factory.getbasetemp() / "report-runs")


@pytest.fixture(scope="session")
def reference_run(sample_runs, tmp_path_factory) -> Path:
    return sample_runs.reference_run(tmp_path_factory.getbasetemp() / "report-runs")


@pytest.fixture(scope="session")
def browser():
    return load_helper("browser")
