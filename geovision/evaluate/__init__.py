"""Scores the field uses: pixel IoU/F1, SpaceNet object F1 (and the SpaceNet 2 scorer per AOI),
APLS on road lines or JSON road graphs, xView2, gridded DII F1 (no torch)."""

from geovision.evaluate.apls import APLSResult, apls_graphs
from geovision.evaluate.graph_json import read_graph_json
from geovision.evaluate.grid import grid_f1
from geovision.evaluate.objects import ObjectScore, match_polygons, object_f1
from geovision.evaluate.pixel import PixelCounts
from geovision.evaluate.roads import RoadSettings, relaxed_f1, road_scores, score_road_graphs
from geovision.evaluate.spacenet2 import SpaceNet2Score, spacenet2_score
from geovision.evaluate.tasks import Options, evaluate
from geovision.evaluate.xview2 import XView2Counts

__all__ = [
    "APLSResult",
    "ObjectScore",
    "Options",
    "PixelCounts",
    "RoadSettings",
    "SpaceNet2Score",
    "XView2Counts",
    "apls_graphs",
    "evaluate",
    "grid_f1",
    "match_polygons",
    "object_f1",
    "read_graph_json",
    "relaxed_f1",
    "road_scores",
    "score_road_graphs",
    "spacenet2_score",
]
