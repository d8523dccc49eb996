"""Outputs under faults (issue 17.2, 17.6, 17.9): a full disk never leaves a final file that is incomplete.

A full disk is imitated with RLIMIT_FSIZE in a child process (writes past the limit fail with
EFBIG, as they fail with ENOSPC on a full disk), so the tests need no root and no small filesystem.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from geovision.errors import OutputWriteError
from geovision.inference.workstore import WorkStore
from geovision.io.cog import check_complete_tiff, write_cog

WRITE_LIMITED = """
import resource, signal, sys
import numpy as np
from affine import Affine
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from geovision.errors import OutputWriteError
from geovision.io.cog import write_cog
data = np.random.default_rng(0).integers(0, 255, (1, 2048, 2048), dtype=np.uint8)
try:
    write_cog(sys.argv[1], data, transform=Affine(0.5, 0, 0, 0, -0.5, 0), crs="EPSG:32615", nodata=None,
              kind="continuous")
except OutputWriteError as error:
    print(error)
    sys.exit(2)
"""


@pytest.mark.parametrize("limit", [3_000_000, 4_600_000], ids=["while-tiling", "while-writing-the-cog"])
def test_a_full_disk_leaves_no_final_and_no_temporary_cog(tmp_path, limit):
    out = tmp_path / "masks" / "buildings_pre_prob.tif"
    done = subprocess.run(
        [sys.executable, "-c", WRITE_LIMITED, str(out), str(limit)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(out) in done.stdout and "Fix:" in done.stdout
    assert list(out.parent.iterdir()) == []  # neither the output nor a hidden temporary file


def test_a_truncated_tiff_is_recognised(tmp_path):
    path = write_cog(
        tmp_path / "a.tif",
        np.random.default_rng(1).integers(0, 255, (1, 1024, 1024), np.uint8),
        transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        crs="EPSG:32615",
        nodata=None,
        kind="continuous",
    )
    check_complete_tiff(path, width=1024, height=1024, count=1)
    with pytest.raises(OutputWriteError, match="1024x1024x1, not 1024x1024x2"):
        check_complete_tiff(path, width=1024, height=1024, count=2)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size - 50_000])
    with pytest.raises(OutputWriteError, match="truncated|does not read back"):
        check_complete_tiff(cut, width=1024, height=1024, count=1)


def test_empty_windows_cost_almost_no_work_space(tmp_path):
    store = WorkStore(tmp_path / ".work")
    store.start({"plan": 1}, resume=False)
    empty = {f"w{i}_buildings_pre_prob": np.full((512, 512), 255, np.uint8) for i in range(4)}
    store.save(0, empty)
    assert store.batch_path(0).stat().st_size < 20_000  # 1 MB of nodata
    assert store.load(0)["w0_buildings_pre_prob"].max() == 255
    busy = {"w0_buildings_pre_prob": np.random.default_rng(0).integers(0, 255, (512, 512), np.uint8)}
    store.save(1, busy)
    assert store.batch_path(1).stat().st_size > 250_000  # real data stays uncompressed (speed)


def test_a_job_larger_than_the_free_space_is_refused_before_it_starts(tmp_path, monkeypatch):
    from geovision.inference import engine

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(OutputWriteError, match="free space"):
        engine.check_free_space(tmp_path / "out", width=10_000, height=10_000, outputs=9)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def locked_folder(tmp_path):
    """A folder no one can write into: immutable (chattr +i) when running as root, read-only otherwise."""
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
            pytest.skip("root, and chattr +i is not available here to make a folder unwritable")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)


def census_file(path: Path, rows: int) -> Path:
    import geopandas as gpd
    import shapely

    boxes = [shapely.box(0, -32, 32, 0)] * rows
    gpd.GeoDataFrame({"pop": [100] * rows}, geometry=boxes, crs="EPSG:32615").to_file(path)
    return path


@pytest.mark.parametrize("command", ["segment", "run", "vectorize", "population"])
def test_an_unwritable_output_folder_is_exit_2_with_its_name(tmp_path, locked_folder, command):
    from click.testing import CliRunner

    from geovision.cli.main import cli

    image = tmp_path / "in.tif"
    write_cog(
        image,
        np.full((3, 64, 64), 200, np.uint8),
        transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        crs="EPSG:32615",
        nodata=None,
        kind="continuous",
    )
    mask = write_cog(
        tmp_path / "mask.tif",
        np.ones((64, 64), np.uint8),
        transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        crs="EPSG:32615",
        nodata=255,
        kind="mask",
    )
    out = locked_folder / "out"
    args = {
        "segment": ["--pre", image, "--out", out],
        "run": ["--pre", image, "--post", image, "--out", out],
        "vectorize": ["--mask", mask, "--kind", "buildings", "--out", out / "b.gpkg"],
        "population": [
            "--census",
            census_file(tmp_path / "census.gpkg", 1),
            "--buildings",
            mask,
            "--out",
            out / "pop.tif",
        ],
    }[command]
    result = CliRunner().invoke(cli, [command, *map(str, args)])
    assert result.exit_code == 2, result.output
    assert "locked" in result.output and "Fix:" in result.output
    assert not isinstance(result.exception, OSError) or isinstance(result.exception, SystemExit)


def test_an_empty_census_is_exit_2_naming_it(tmp_path):
    from click.testing import CliRunner

    from geovision.cli.main import cli

    mask = write_cog(
        tmp_path / "mask.tif",
        np.ones((64, 64), np.uint8),
        transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        crs="EPSG:32615",
        nodata=255,
        kind="mask",
    )
    empty = census_file(tmp_path / "empty.gpkg", 0)
    result = CliRunner().invoke(
        cli, ["population", "--census", str(empty), "--buildings", str(mask), "--out", str(tmp_path / "pop.tif")]
    )
    assert result.exit_code == 2, result.output
    assert str(empty) in result.output and "Traceback" not in result.output


RECORD_LIMITED = """
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from geovision.errors import OutputWriteError
from geovision.pipeline.events import EventInputs
from geovision.pipeline.run import Run, RunConfig
image, out, what = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
run = Run(EventInputs(name="x", pre=image, post=image), out, RunConfig())
resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))  # run.json is a few kB: the disk fills while it is written
try:
    if what == "record":
        run.save()
    else:
        from geovision.inference.workstore import WorkStore
        import numpy as np
        store = WorkStore(out / ".work")
        store.start({"plan": 1}, resume=False)
        store.save(0, {"w0": np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)})
except OutputWriteError as error:
    print(error)
    sys.exit(2)
"""


@pytest.mark.parametrize("what", ["record", "work-store"])
def test_a_full_disk_while_the_record_or_work_is_written_is_exit_2(tmp_path, what):
    image = write_cog(
        tmp_path / "in.tif",
        np.full((3, 64, 64), 200, np.uint8),
        transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        crs="EPSG:32615",
        nodata=None,
        kind="continuous",
    )
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-c", RECORD_LIMITED, str(image), str(out), what], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Fix:" in done.stdout
    assert str(out) in done.stdout
    assert not [p.name for p in out.rglob("*") if p.is_file() and p.name != "plan.json"]  # no partial or temp file
