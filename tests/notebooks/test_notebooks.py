"""Execute the notebooks of notebooks/ with injected parameters (papermill's convention), through nbclient."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def inject_parameters(notebook: nbformat.NotebookNode, **parameters) -> nbformat.NotebookNode:
    """Insert a cell tagged ``injected-parameters`` after the one tagged ``parameters`` (as papermill does)."""
    index = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)
    return notebook


def execute(name: str, tmp_path: Path, **parameters) -> nbformat.NotebookNode:
    notebook = inject_parameters(nbformat.read(NOTEBOOKS / name, as_version=4), **parameters)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
    ).execute()
    return notebook


def _text(notebook) -> str:
    return "\n".join(
        output.get("text", "") + json.dumps(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def _images(notebook) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert sum("parameters" in c.metadata.get("tags", []) for c in notebook.cells) == 1
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_explore_run(full_run, tmp_path):
    notebook = execute("01_explore_run.ipynb", tmp_path, run_dir=str(full_run))
    record = json.loads((full_run / "run.json").read_text())
    text = _text(notebook)
    assert "Buildings lost" in text and str(record["stages"]["vectorize"]["figures"]["buildings_lost"]) in text
    assert _images(notebook) == 1


def test_notebooks_read_a_moved_run_folder(full_run, tmp_path):
    """run.json's paths are relative: a run folder copied elsewhere opens the same in the notebooks."""
    import shutil

    moved = shutil.copytree(full_run, tmp_path / "copied" / "run")
    notebook = execute("01_explore_run.ipynb", tmp_path, run_dir=str(moved))
    record = json.loads((full_run / "run.json").read_text())
    assert str(record["stages"]["vectorize"]["figures"]["buildings_lost"]) in _text(notebook)
    execute("03_population_at_risk.ipynb", tmp_path, run_dir=str(moved), out_csv=str(tmp_path / "units.csv"))
    assert (tmp_path / "units.csv").stat().st_size > 0


def test_choose_threshold(full_run, tmp_path):
    notebook = execute("02_choose_threshold.ipynb", tmp_path, run_dir=str(full_run), theta_a=0.05, theta_b=2.0)
    text = _text(notebook)
    assert "Of the two, theta = 0.05 scores the higher F1" in text
    assert _images(notebook) == 1


def test_population_at_risk(full_run, tmp_path):
    out_csv = tmp_path / "units.csv"
    notebook = execute("03_population_at_risk.ipynb", tmp_path, run_dir=str(full_run), out_csv=str(out_csv))
    record = json.loads((full_run / "run.json").read_text())
    table = pd.read_csv(out_csv)
    expected = record["stages"]["impact_buildings"]["figures"]["population"]["persons_impacted"]
    assert table["affected_persons_impacted"].sum() == pytest.approx(expected)
    assert _images(notebook) == 1


def test_explore_a_run_without_model_outputs(reference_run, tmp_path):
    """What `geovision run demo` gives without a model: only the reference grid."""
    notebook = execute("01_explore_run.ipynb", tmp_path, run_dir=str(reference_run))
    assert "reference_grid" in _text(notebook) and _images(notebook) == 1


def test_population_needs_a_census_and_says_so(reference_run, tmp_path):
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="no admin_units layer"):
        execute("03_population_at_risk.ipynb", tmp_path, run_dir=str(reference_run))


def test_run_in_python_runs_the_demo_stage_by_stage(tmp_path):
    """Notebook 00: the stages one by one, then open_run on the result (the same figures as run.json's)."""
    out = tmp_path / "demo-python"
    notebook = execute("00_run_in_python.ipynb", tmp_path, out_dir=str(out))
    record = json.loads((out / "run.json").read_text())
    assert record["complete"] and all(s["status"] in ("done", "skipped") for s in record["stages"].values())
    assert f"'buildings_lost': {record['stages']['vectorize']['figures']['buildings_lost']}" in _text(notebook)
    assert _images(notebook) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if not p.name.startswith("00_")))
def test_notebooks_run_from_notebooks_against_make_demo(demo_run, name):
    """Exactly as a user runs them: from notebooks/, their default run_dir (../outputs/demo), no parameters."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert 'run_dir = "../outputs/demo"' in next(
        c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])
    )
    if (NOTEBOOKS / "../outputs/demo").resolve() != demo_run.resolve():
        pytest.skip(f"the demo run is at {demo_run}, not ../outputs/demo")
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
    ).execute()
    assert _images(notebook) == 1


@pytest.mark.slow  # the fast suite runs it once, from notebooks/ (test_notebooks_run_from_notebooks_against_make_demo)
def test_adapt_notebook_adapts_the_demo_to_noisy_map_data(demo_run, tmp_path):
    out = tmp_path / "adapted"
    notebook = execute("04_adapt_to_your_event.ipynb", tmp_path, run_dir=str(demo_run), out_dir=str(out), minutes=0.5)
    record = json.loads((out / "model" / "adapt.json").read_text())
    assert record["labels"][0]["licence"] == "CC0-1.0 (synthetic demo)" and record["steps"] >= 10
    text = _text(notebook)
    assert (
        "held-out buildings: object F1" in text
        and "held-out score" in text
        and ("adapted model kept" in text or "base model kept" in text)
    )
    assert _images(notebook) == 1
