"""Inspect the installed stack: versions, GDAL/PROJ, drivers, CUDA, threads.

Each check returns a :class:`Check`; a failed *required* check means the stack
is broken and comes with a fix-it message.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import dataclass

REINSTALL = "recreate the environment: `rm -rf .venv && make test` (or `pip install -e .`)"
REQUIRED_DRIVERS = ("GTiff", "COG", "GPKG", "GeoJSON", "PNG", "JPEG")


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    value: str
    ok: bool = True
    fix: str | None = None
    required: bool = True


def _version(module: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 - any import failure means a broken stack
        return Check(
            module,
            f"NOT IMPORTABLE ({type(error).__name__}: {error})",
            ok=False,
            fix=f"`{module}` cannot be imported: {REINSTALL}",
        )
    return Check(module, str(getattr(mod, "__version__", "installed")))


def _gdal_checks() -> list[Check]:
    try:
        import rasterio
        from rasterio.env import GDALVersion
    except Exception as error:  # noqa: BLE001
        return [Check("GDAL", f"unavailable ({error})", ok=False, fix=REINSTALL)]
    checks = [Check("GDAL", str(GDALVersion.runtime())), Check("PROJ", _proj_version())]
    with rasterio.Env() as env:
        drivers = env.drivers()
    missing = [name for name in REQUIRED_DRIVERS if name not in drivers]
    present = ", ".join(d for d in REQUIRED_DRIVERS if d in drivers)
    checks.append(
        Check(
            "rasterio drivers",
            f"{len(drivers)} ({present})",
            ok=not missing,
            fix=f"GDAL lacks drivers {missing}: install rasterio wheels from PyPI ({REINSTALL})",
        )
    )
    return checks


def _proj_version() -> str:
    try:
        import pyproj
    except Exception as error:  # noqa: BLE001
        return f"unavailable ({error})"
    return f"{pyproj.proj_version_str} (pyproj {pyproj.__version__})"


def _torch_checks() -> list[Check]:
    try:
        import torch
    except Exception as error:  # noqa: BLE001
        return [Check("torch", f"NOT IMPORTABLE ({error})", ok=False, fix=REINSTALL)]
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "none (CPU inference)"
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return [
        Check("torch", torch.__version__),
        Check("CUDA available", f"{cuda} ({device})", required=False),
        Check("MPS available", str(mps), required=False),
        Check("bf16 on CPU", str(_cpu_bf16_works(torch)), required=False),
        Check("torch threads", f"{torch.get_num_threads()} of {os.cpu_count()} CPUs"),
    ]


def _cpu_bf16_works(torch) -> bool:
    try:
        x = torch.ones(4, 4, dtype=torch.bfloat16)
        return bool((x @ x).float().sum().item() == 64.0)
    except RuntimeError:
        return False


def run_checks() -> list[Check]:
    """All checks, in report order."""
    checks = [
        Check(
            "python",
            f"{platform.python_version()} ({sys.executable})",
            ok=sys.version_info >= (3, 11),
            fix="geovision needs Python >= 3.11",
        )
    ]
    from geovision import __version__

    checks.append(Check("geovision", __version__))
    checks += _gdal_checks()
    checks += _torch_checks()
    for module in (
        "torchvision",
        "segmentation_models_pytorch",
        "timm",
        "numpy",
        "shapely",
        "geopandas",
        "pyogrio",
        "xarray",
        "rioxarray",
        "dask",
        "distributed",
        "pydantic",
        "safetensors",
    ):
        checks.append(_version(module))
    return checks


def broken(checks: list[Check]) -> list[Check]:
    """The failed required checks."""
    return [check for check in checks if check.required and not check.ok]
