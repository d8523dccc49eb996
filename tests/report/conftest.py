"""Fixtures of the report tests (the seeded run folders ``full_run``/``reference_run`` are in tests/conftest.py)."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.report import browser as browser_helper


@pytest.fixture(scope="session")
def browser() -> ModuleType:
    """The headless-Chromium page inspector (tests/report/browser.py); tests using it are marked ``browser``."""
    return browser_helper
