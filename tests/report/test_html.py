import json
import re

import pytest

PAGE_STATE = """(() => {
  const cards = Array.from(document.querySelectorAll("[data-figure]")).map(e => ({
    key: e.dataset.figure, value: e.dataset.value, source: e.dataset.source,
    text: e.querySelector(".value").textContent, interval: (e.querySelector(".interval") || {}).textContent || ""}));
  const layers = {};
  for (const g of document.querySelectorAll("svg g[data-layer]")) {
    layers[g.dataset.layer] = {paths: g.querySelectorAll("path").length, total: Number(g.dataset.total),
                               visible: getComputedStyle(g).display !== "none"};
  }
  const images = Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}));
  const toggle = document.querySelector('input.toggle[data-target="layer-dii"]');
  let hidden = null;
  if (toggle) { toggle.click(); hidden = getComputedStyle(document.getElementById("layer-dii")).display; }
  const swipe = document.getElementById("swipe");
  swipe.value = 20;
  swipe.dispatchEvent(new Event("input"));
  const box = document.getElementById("map").getBoundingClientRect();
  return {cards, layers, images, hidden, clip: document.getElementById("before").style.clipPath,
          ready: document.body.dataset.ready, map: [box.width, box.height],
          missing: Array.from(document.querySelectorAll("[data-missing]")).map(e => e.dataset.missing),
          stages: Array.from(document.querySelectorAll("[data-stage]")).map(e => e.dataset.stage),
          checks: Object.fromEntries(Array.from(document.querySelectorAll("[data-check]")).map(
            e => [e.dataset.check, Number(e.dataset.value)])),
          terms: Array.from(document.querySelectorAll("#terms dt")).map(e => e.textContent),
          furniture: [!!document.getElementById("scale-bar"), !!document.getElementById("north-arrow")]};
})()"""

SCALES = {"road_km_lost": 1e-3, "road_km": 1e-3}  # shown in km, recorded in m
DIGITS = {"road_km_lost": 2, "road_km": 2, "truth_f1": 3, "grid_f1": 3, "reference_f1": 3}


def _value_in_record(record, source):
    stage, *keys = source.split(".")
    value = record["stages"][stage]["figures"]
    for key in keys:
        value = value[key]
    return value


def _open(browser, run_dir):
    result = browser.inspect_page((run_dir / "report.html").as_uri(), PAGE_STATE)
    assert result.errors == [], result.errors
    assert result.remote_requests == [], "the report must work offline"
    return result.value


@pytest.mark.browser
def test_full_report_renders_map_and_numbers_equal_to_run_json(full_run, browser):
    record = json.loads((full_run / "run.json").read_text())
    page = _open(browser, full_run)
    assert page["ready"] == "1"
    assert page["map"][0] > 300 and page["map"][1] > 300
    assert all(image["ok"] for image in page["images"]), page["images"]
    assert {"before the event", "after the event", "DII histogram", "precision-recall curve"} <= {
        image["alt"] for image in page["images"]
    }
    keys = {card["key"] for card in page["cards"]}
    assert {"buildings_lost", "road_km_lost", "persons_impacted", "persons_lost", "truth_f1"} <= keys
    assert page["missing"] == [] and not keys & {"grid_f1", "reference_f1"}  # one F1 as a card, others as checks
    for card in page["cards"]:
        expected = _value_in_record(record, card["source"])
        assert float(card["value"]) == expected, card
        scale, digits = SCALES.get(card["key"], 1.0), DIGITS.get(card["key"], 0)
        assert card["text"].split(" ")[0] == f"{expected * scale:,.{digits}f}", card
    lost = record["stages"]["vectorize"]["figures"]["buildings_lost"]
    assert page["layers"]["buildings"] == {"paths": lost, "total": lost, "visible": True}
    assert page["layers"]["dii"]["paths"] == record["stages"]["impact_buildings"]["figures"]["cells_defined"]
    assert page["layers"]["roads"]["paths"] > 0 and page["layers"]["population"]["visible"] is False
    assert page["hidden"] == "none"  # the layer toggle works
    assert page["clip"] == "inset(0px 80% 0px 0px)"  # the swipe works
    assert page["stages"] == list(record["stages"])[: len(page["stages"])]
    assert {"DII", "θ (theta)", "Impacted cell", "Interval", "Grid F1"} <= set(page["terms"])
    assert page["furniture"] == [True, True]  # scale bar and north arrow


def test_headline_speaks_in_metres_with_dates_place_and_interval_level(full_run):
    text = (full_run / "report.html").read_text()
    assert "grid cells of 64 m × 64 m (128 px)" in text and "95 % interval" in text
    assert "place: 37." in text and "event date:" in text and "images: before" in text
    assert re.search(r'<div class="card" data-figure="persons_impacted".*?95 % interval', text, re.S)


@pytest.mark.browser
def test_reference_only_report_says_what_is_missing(reference_run, browser):
    record = json.loads((reference_run / "run.json").read_text())
    page = _open(browser, reference_run)
    assert page["cards"] == []
    assert page["checks"]["reference_cells_impacted"] == record["stages"]["reference"]["figures"]["cells_impacted"]
    assert "buildings_lost" in page["missing"] and "persons_impacted" in page["missing"]
    assert set(page["layers"]) == {"dii"}
    assert page["layers"]["dii"]["paths"] == record["stages"]["reference"]["figures"]["cells_defined"]


def test_report_links_nothing_outside_the_folder(full_run):
    text = (full_run / "report.html").read_text()
    links = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert links and not [link for link in links if re.match(r"(https?:)?//", link)]
    for link in links:
        if not link.startswith(("data:", "#")):
            assert (full_run / link).exists(), link


@pytest.mark.parametrize(
    "body, expected",
    [
        ("<script>throw new Error('boom')</script>", "exception"),
        ("<script>console.error('bad')</script>", "console.error"),
        ('<img src="missing.png" alt="x">', "load failed"),
    ],
)
@pytest.mark.browser
def test_the_browser_check_sees_errors(tmp_path, browser, body, expected):
    page = tmp_path / "page.html"
    page.write_text(f"<!DOCTYPE html><html><head><link rel='icon' href='data:,'></head><body>{body}</body></html>")
    result = browser.inspect_page(page.as_uri(), "1")
    assert any(expected in error for error in result.errors), result.errors


@pytest.mark.browser
def test_the_browser_check_sees_remote_requests(tmp_path, browser):
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><head><link rel='icon' href='data:,'></head>"
        "<body><img src='http://127.0.0.1:9/x.png'></body></html>"
    )
    assert browser.inspect_page(page.as_uri(), "1").remote_requests == ["http://127.0.0.1:9/x.png"]


def test_intervals_are_shown_when_the_run_has_them(full_run, tmp_path):
    from geovision.report.html import render_report
    from geovision.runrecord import read_run_record

    record = read_run_record(full_run)
    population = record["stages"]["impact_buildings"]["figures"]["population"]
    population.update(persons_lost_low=100.0, persons_lost_high=140.4)
    path = render_report(tmp_path, record, max_px=128)
    card = re.search(
        r'<div class="card" data-figure="persons_lost"[^>]*>.*?</div>\s*</div>', path.read_text(), re.S
    ).group(0)
    assert 'data-low="100.0" data-high="140.4"' in card and "interval 100–140" in card
