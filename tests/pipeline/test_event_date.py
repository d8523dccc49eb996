"""The catalog's event date travels into the run's inputs (and from there into the STAC item)."""

import yaml

from geovision.catalog import load_catalog
from geovision.pipeline.events import materialise


def test_catalog_date_reaches_the_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVISION_CACHE", str(tmp_path / "cache"))
    catalog = tmp_path / "catalog.yaml"
    event = {
        "title": "mini",
        "kind": "synthetic",
        "licence": "CC0",
        "synth": {"width": 128, "height": 128, "seed": 1, "event": "tornado"},
    }
    catalog.write_text(
        yaml.safe_dump({"version": 1, "events": {"dated": {**event, "date": "2021-03-04"}, "undated": event}})
    )
    dated = materialise("dated", load_catalog(catalog))
    assert dated.event_date == "2021-03-04" and dated.to_json()["event_date"] == "2021-03-04"
    assert materialise("undated", load_catalog(catalog)).event_date is None
