"""Scores the field uses: pixel IoU/F1, SpaceNet object F1, APLS, xView2, gridded DII F1 (no torch)."""

from geovision.evaluate.apls import APLSResult, apls_graphs
from geovision.evaluate.grid import grid_f1
from geovision.evaluate.objects import ObjectScore, match_polygons, object_f1
from geovision.evaluate.pixel import PixelCounts
from geovision.evaluate.roads import relaxed_f1, road_scores
from geovision.evaluate.tasks import Options, evaluate
from geovision.evaluate.xview2 import XView2Counts

__all__ = ["APLSResult", "ObjectScore", "Options", "PixelCounts", "XView2Counts", "apls_graphs", "evaluate",
           "grid_f1", "match_polygons", "object_f1", "relaxed_f1", "road_scores"]
