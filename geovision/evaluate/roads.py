"""Road network scores from vectors: APLS and relaxed (buffered) F1, in a metric CRS.

Relaxed F1 (Wiedemann's completeness/correctness): precision is the share of predicted length
within ``buffer_m`` of a true road, recall the share of true length within ``buffer_m`` of a
predicted road.

Inputs are centre lines (GeoDataFrames with ``image_id``, one graph built per image) or road
graphs (:mod:`geovision.evaluate.graph_json`, used as they are, as the reference does with its
pickled graphs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import networkx as nx
import shapely

from geovision.errors import ConfigError, GeoreferenceError
from geovision.evaluate.apls import (
    DEFAULT_CURVATURE_EPS,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MIDPOINT_SPACING_M,
    DEFAULT_MIN_PATH_LENGTH_M,
    APLSResult,
    apls_graphs,
)
from geovision.evaluate.road_graph import GRAPH_RULES, GraphRules, road_graph
from geovision.evaluate.vectors import common_crs, metric_crs

if TYPE_CHECKING:
    import geopandas as gpd

# SpaceNet's reference drops truth components shorter than 5 m and proposal ones shorter than
# 10 pixels (3 m at 0.3 m/px)
TRUTH_MIN_SUBGRAPH_M = 5.0
PRED_MIN_SUBGRAPH_M = 3.0
LON_LAT = "EPSG:4326"


@dataclass(frozen=True)
class RoadSettings:
    """How road networks are scored; the defaults are the SpaceNet 3 reference run's.

    ``graph_rules`` says how lines become graphs (``"cosmiq"``: as CosmiQ's ``apls.py``, see
    :func:`~geovision.evaluate.road_graph.road_graph`); it does not touch graphs read from JSON.
    """

    max_snap_dist_m: float = DEFAULT_MAX_SNAP_M
    midpoint_spacing_m: float = DEFAULT_MIDPOINT_SPACING_M
    curvature_eps: float = DEFAULT_CURVATURE_EPS
    min_path_length_m: float = DEFAULT_MIN_PATH_LENGTH_M
    buffer_m: float = 3.0
    graph_rules: GraphRules = "geovision"

    def __post_init__(self) -> None:
        if self.graph_rules not in GRAPH_RULES:
            raise ConfigError(
                f"unknown road graph rules {self.graph_rules!r}", fix=f"use one of {', '.join(GRAPH_RULES)}"
            )
        for name in ("max_snap_dist_m", "midpoint_spacing_m", "buffer_m"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"{name} must be positive, not {getattr(self, name)}", fix="give a distance in metres above 0"
                )

    def to_dict(self) -> dict:
        return asdict(self)


def relaxed_f1(pred_lines: Any, truth_lines: Any, *, buffer_m: float = 3.0) -> dict:
    """Length-based precision, recall and F1 of two line arrays in one metric CRS."""
    pred = shapely.union_all(pred_lines)
    truth = shapely.union_all(truth_lines)
    pred_len, truth_len = pred.length, truth.length
    if pred_len == 0 or truth_len == 0:
        value = 1.0 if pred_len == 0 and truth_len == 0 else 0.0
        return {
            "precision": value,
            "recall": value,
            "f1": value,
            "buffer_m": buffer_m,
            "pred_length_m": pred_len,
            "truth_length_m": truth_len,
        }
    precision = pred.intersection(truth.buffer(buffer_m)).length / pred_len
    recall = truth.intersection(pred.buffer(buffer_m)).length / truth_len
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "buffer_m": buffer_m,
        "pred_length_m": pred_len,
        "truth_length_m": truth_len,
    }


def to_metric(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Both frames in one metric CRS (UTM of the data unless already projected in metres)."""
    pred, truth = common_crs(pred, truth)
    if pred.crs is None:
        raise GeoreferenceError(
            "road scores need map coordinates, the inputs have no CRS",
            fix="give --image, the raster that pixel coordinates refer to",
        )
    crs = metric_crs(truth, pred)
    if crs is None:  # nothing to measure
        return pred, truth
    return pred.to_crs(crs), truth.to_crs(crs)


def graph_from_lines(frame: gpd.GeoDataFrame, *, crs: Any = None, truth: bool, settings: RoadSettings) -> nx.MultiGraph:
    """The road graph of a line GeoDataFrame, built in ``crs`` (metric; default: the frame's own).

    Truth components under 5 m and predicted ones under 3 m are dropped (the reference's
    filters); with ``graph_rules="cosmiq"`` edge lengths are great-circle lengths of the lines'
    lon/lat coordinates, as osmnx computes them.
    """
    if frame.crs is None:
        raise GeoreferenceError(
            "road lines have no CRS", fix="give --image, the raster that pixel coordinates refer to"
        )
    metric = frame.to_crs(crs) if crs is not None else frame
    lon_lat = frame.to_crs(LON_LAT).geometry.values if settings.graph_rules == "cosmiq" else None
    return road_graph(
        metric.geometry.values,
        rules=settings.graph_rules,
        lon_lat=lon_lat,
        min_subgraph_length_m=TRUTH_MIN_SUBGRAPH_M if truth else PRED_MIN_SUBGRAPH_M,
    )


def _edge_lines(graph: nx.MultiGraph) -> list:
    return [geometry for *_, geometry in graph.edges(data="geometry")]


def score_road_graphs(
    truth: nx.MultiGraph,
    pred: nx.MultiGraph,
    *,
    settings: RoadSettings | None = None,
    truth_lines: Any = None,
    pred_lines: Any = None,
) -> dict:
    """APLS and relaxed F1 of two road graphs in one metric CRS (one image).

    Relaxed F1 measures ``truth_lines``/``pred_lines`` when given (the input lines, in the
    graphs' CRS), else the graphs' edges.
    """
    settings = settings or RoadSettings()
    result: APLSResult = apls_graphs(
        truth,
        pred,
        max_snap_dist_m=settings.max_snap_dist_m,
        midpoint_spacing_m=settings.midpoint_spacing_m,
        curvature_eps=settings.curvature_eps,
        min_path_length_m=settings.min_path_length_m,
    )
    pred_lines = _edge_lines(pred) if pred_lines is None else pred_lines
    truth_lines = _edge_lines(truth) if truth_lines is None else truth_lines
    return {"apls": result.to_dict(), "relaxed": relaxed_f1(pred_lines, truth_lines, buffer_m=settings.buffer_m)}


def summarize(per_image: dict[str, dict], settings: RoadSettings) -> dict:
    """Means of APLS and relaxed F1 over images, with the per-image results and the settings."""

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "apls": mean([r["apls"]["apls"] for r in per_image.values()]),
        "relaxed_f1": mean([r["relaxed"]["f1"] for r in per_image.values()]),
        "n_images": len(per_image),
        "per_image": per_image,
        "settings": settings.to_dict(),
    }


def road_scores(
    pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, *, settings: RoadSettings | None = None, **overrides: Any
) -> dict:
    """APLS and relaxed F1 per image and their means, for line GeoDataFrames with ``image_id``.

    ``overrides`` replace fields of ``settings`` (e.g. ``max_snap_dist_m=3``).
    """
    settings = replace(settings or RoadSettings(), **overrides)
    pred, truth = common_crs(pred, truth)
    if pred.crs is None:
        raise GeoreferenceError(
            "road scores need map coordinates, the inputs have no CRS",
            fix="give --image, the raster that pixel coordinates refer to",
        )
    crs = metric_crs(truth, pred)  # None when there is nothing to measure
    per_image: dict[str, dict] = {}
    for image in sorted(set(pred["image_id"]) | set(truth["image_id"])):
        p = pred[pred["image_id"] == image]
        t = truth[truth["image_id"] == image]
        p_metric, t_metric = (f.to_crs(crs) if crs is not None else f for f in (p, t))
        per_image[str(image)] = score_road_graphs(
            graph_from_lines(t, crs=crs, truth=True, settings=settings),
            graph_from_lines(p, crs=crs, truth=False, settings=settings),
            settings=settings,
            truth_lines=t_metric.geometry.values,
            pred_lines=p_metric.geometry.values,
        )
    return summarize(per_image, settings)
