"""Shared test fixtures: offline hubs, real data folder, the demo run, seeded report runs."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# tests isolate GEOVISION_CACHE (events) per test; models converted for OpenVINO are keyed by their
# weights, so one machine-wide folder serves every test
os.environ.setdefault("GEOVISION_OPENVINO_CACHE", str(Path.home() / ".cache" / "geovision" / "openvino"))

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


#: fixtures that need something the repository does not hold, and the marker (pyproject.toml) a test using
#: them carries, so that e.g. `-m "not realdata and not browser"` selects exactly the self-contained tests
MARKER_OF_FIXTURE = {"shared_data": "realdata", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run when a test uses ``shared_data`` or ``browser`` without its marker."""
    unmarked = [
        f"{item.nodeid} uses the `{fixture}` fixture: mark it @pytest.mark.{marker}"
        for item in items
        for fixture, marker in MARKER_OF_FIXTURE.items()
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))


DEMO_RUN = Path(os.environ.get("GEOVISION_DEMO_RUN", REPO_ROOT / "outputs" / "demo"))


@pytest.fixture(scope="session")
def demo_run() -> Path:
    """The run folder `make demo` writes (outputs/demo). CI runs `make demo` first; elsewhere skipped if absent."""
    if not (DEMO_RUN / "report.html").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DEMO_RUN} has no finished run: CI must run `make demo` before the tests")
        pytest.skip(f"{DEMO_RUN} has no finished run: run `make demo` first")
    return DEMO_RUN


@pytest.fixture(scope="session")
def sample_runs() -> ModuleType:
    """tests/report/sample_run.py: seeded run folders built by the pipeline's own stages (report, notebooks)."""
    from tests.report import sample_run

    return sample_run


@pytest.fixture(scope="session")
def full_run(sample_runs: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with every stage done and the report written (built once per session)."""
    return sample_runs.full_run(tmp_path_factory.getbasetemp() / "report-runs")


@pytest.fixture(scope="session")
def reference_run(sample_runs: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as the demo gives without a model: reference DII only, then the report."""
    return sample_runs.reference_run(tmp_path_factory.getbasetemp() / "report-runs")
