import geopandas as gpd
import numpy as np
from click.testing import CliRunner

from geovision.cli.main import cli
from tests.rasters import write_geotiff


def test_vectorize_probabilities_with_threshold_and_errors(tmp_path):
    prob = np.zeros((64, 64), np.float32)
    prob[10:30, 10:30] = 0.7
    prob[40:60, 40:60] = 0.3  # below tau
    prob[0, 0] = np.nan
    path = tmp_path / "p.tif"
    write_geotiff(path, prob, origin=(360000, 4110000), nodata=float("nan"))
    runner = CliRunner()
    out = tmp_path / "b.gpkg"
    result = runner.invoke(
        cli, ["vectorize", "--mask", str(path), "--kind", "buildings", "--tau", "0.5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = gpd.read_file(out)
    assert len(frame) == 1 and frame["area_m2"].iloc[0] == 100.0
    again = runner.invoke(cli, ["vectorize", "--mask", str(path), "--kind", "buildings", "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    missing = runner.invoke(
        cli, ["vectorize", "--mask", str(tmp_path / "no.tif"), "--kind", "roads", "--out", str(tmp_path / "r.gpkg")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
    wrong = runner.invoke(cli, ["vectorize", "--mask", str(path), "--kind", "rivers", "--out", str(out)])
    assert wrong.exit_code == 2
