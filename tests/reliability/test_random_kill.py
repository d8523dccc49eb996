"""Kill `geovision run` at random points and rerun: the outputs equal an uninterrupted run's (issue 17).

The kill times are drawn (seeded) over the whole length of a reference run, so they land in
every stage. Data outputs are compared byte for byte; GeoPackages by content (their style table
records write times); run.json, the report and the STAC catalog carry timings and are left out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml

from geovision.io.vectors import list_layers

TIMED = {"run.json", "run.previous.json", "report.html", ".geovision.lock"}


def data_files(run_dir: Path) -> dict[str, Path]:
    files = {p.relative_to(run_dir).as_posix(): p for p in run_dir.rglob("*") if p.is_file()}
    return {k: p for k, p in files.items() if k not in TIMED and not k.startswith("stac/")}


def assert_same_outputs(got: Path, want: Path) -> None:
    a, b = data_files(got), data_files(want)
    assert sorted(a) == sorted(b)
    for name in a:
        if name.endswith(".gpkg"):
            for layer in list_layers(b[name]):
                x, y = (
                    gpd.read_file(f, layer=layer).drop(columns="update_time", errors="ignore")
                    for f in (a[name], b[name])
                )
                assert x.equals(y), f"{name}:{layer}"
        else:
            assert a[name].read_bytes() == b[name].read_bytes(), name


def run_command(event: str, out: Path, catalog: Path, model: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "geovision.cli.main",
        "-q",
        "run",
        event,
        "--out",
        str(out),
        "--catalog",
        str(catalog),
        "--model",
        model,
    ]


def kill_and_rerun(command: list[str], after_s: float, env: dict) -> None:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


def random_kills(tmp_path, event: str, catalog: Path, model: str, kills: int, seed: int) -> None:
    env = {**os.environ, "GEOVISION_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    reference = tmp_path / "reference"
    started = time.monotonic()
    subprocess.run(run_command(event, reference, catalog, model), env=env, check=True, timeout=900)
    length = time.monotonic() - started
    rng = np.random.default_rng(seed)
    for index, after in enumerate(sorted(rng.uniform(0.1, 1.0, kills) * length)):
        out = tmp_path / f"killed-{index}"
        kill_and_rerun(run_command(event, out, catalog, model), float(after), env)
        assert_same_outputs(out, reference)


@pytest.fixture
def mini_catalog(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "events": {
                    "mini": {
                        "title": "mini synthetic",
                        "kind": "synthetic",
                        "licence": "CC0",
                        "synth": {"width": 512, "height": 512, "seed": 5, "event": "tornado"},
                    }
                },
            }
        )
    )
    return catalog


def test_random_kills_of_a_small_run_rerun_to_the_same_outputs(tmp_path, mini_catalog):
    random_kills(tmp_path, "mini", mini_catalog, "default", kills=2, seed=17)


@pytest.mark.slow
def test_twenty_random_kills_of_the_demo_rerun_to_the_same_outputs(tmp_path):
    from geovision.catalog import DEFAULT_CATALOG

    random_kills(tmp_path, "demo", DEFAULT_CATALOG, "default", kills=20, seed=2026)
