"""Fixtures of the evaluation tests."""

from __future__ import annotations

import pytest
from shapely.geometry import box

TRUTH = [  # ImageId, BuildingId, polygon
    ("AOI_2_Vegas_img1", 1, box(0, 0, 10, 10)),
    ("AOI_2_Vegas_img1", 2, box(50, 50, 54, 54)),  # 16 px: under 20, dropped
    ("AOI_2_Vegas_img1", 3, box(100, 100, 110, 110)),  # missed
    ("AOI_2_Vegas_img2", 1, box(0, 0, 20, 10)),
    ("AOI_3_Paris_img7", 1, box(0, 0, 10, 10)),
    ("AOI_3_Paris_img7", 2, box(30, 0, 40, 10)),
    ("AOI_3_Paris_img8", -1, None),  # an image without buildings
]
PRED = [  # ImageId, BuildingId, polygon, Confidence
    ("AOI_2_Vegas_img1", 1, box(0, 0, 10, 10), 0.9),
    ("AOI_2_Vegas_img1", 2, box(50, 50, 54, 54), 0.8),  # 16 px: ignored, not a false positive
    ("AOI_2_Vegas_img2", 1, box(0, 0, 20, 10), 0.5),
    ("AOI_2_Vegas_img2", 2, box(200, 200, 220, 210), 0.4),  # false positive
    ("AOI_3_Paris_img7", 1, box(2, 0, 12, 10), 0.9),  # IoU 0.67 with building 1, first in confidence
    ("AOI_3_Paris_img7", 2, box(1, 0, 11, 10), 0.4),  # IoU 0.82 but building 1 is taken: false positive
    ("AOI_3_Paris_img7", 3, box(30, 0, 50, 10), 0.7),  # IoU exactly 0.5: not above it, false positive
    ("AOI_3_Paris_img8", 1, box(0, 0, 10, 10), 0.1),  # false positive
]


@pytest.fixture
def spacenet2_csvs(tmp_path):
    """SpaceNet 2 CSVs of two AOIs, scored by hand in test_spacenet2.py (truth: ImageId, BuildingId,
    PolygonWKT_Pix; proposals add Confidence)."""
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "ImageId,BuildingId,PolygonWKT_Pix\n"
        + "".join(
            f'{image},{building},"{"POLYGON EMPTY" if polygon is None else polygon.wkt}"\n'
            for image, building, polygon in TRUTH
        )
    )
    pred = tmp_path / "pred.csv"
    pred.write_text(
        "ImageId,BuildingId,PolygonWKT_Pix,Confidence\n"
        + "".join(f'{image},{building},"{polygon.wkt}",{confidence}\n' for image, building, polygon, confidence in PRED)
    )
    return pred, truth
