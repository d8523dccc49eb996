"""Shared test fixtures: offline hubs, real data folder, temp outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOVISION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real third-party data (../shared/data). Required in CI, skipped elsewhere if absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing: CI must run with shared/ beside the clone")
        pytest.skip(f"real data folder {SHARED_DATA} is absent (clone the project beside shared/)")
    return SHARED_DATA


DEMO_RUN = Path(os.environ.get("GEOVISION_DEMO_RUN", REPO_ROOT / "outputs" / "demo"))


@pytest.fixture(scope="session")
def demo_run() -> Path:
    """The run folder `make demo` writes (outputs/demo). CI runs `make demo` first; elsewhere skipped if absent."""
    if not (DEMO_RUN / "report.html").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DEMO_RUN} has no finished run: CI must run `make demo` before the tests")
        pytest.skip(f"{DEMO_RUN} has no finished run: run `make demo` first")
    return DEMO_RUN
