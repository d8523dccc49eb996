"""Fixtures for inference tests: a translation-equivariant dummy model and in-memory scenes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from geovision.inference.predictor import InferenceModel
from geovision.types import PixelWindow


class ConvModel(nn.Module):
    """A fixed 9x9 convolution (receptive field radius 4) and a pointwise non-linearity: translation-
    equivariant, and zero padding equals reading zeros past the scene edge."""

    def __init__(self, tasks=("buildings", "roads"), bands=3, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.tasks = tuple(tasks)
        self.conv = nn.Conv2d(bands, len(tasks), 9, padding=4)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=gen) * 0.1)
            self.conv.bias.copy_(torch.randn(self.conv.bias.shape, generator=gen) * 0.1)

    def forward(self, x):
        y = 3.0 * torch.tanh(self.conv(x))
        return {task: y[:, i : i + 1] for i, task in enumerate(self.tasks)}


def make_dummy_model(seed: int = 0) -> InferenceModel:
    return InferenceModel(
        module=ConvModel(seed=seed),
        tasks=("buildings", "roads"),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        thresholds={"buildings": 0.5, "roads": 0.5},
    )


class ArraySource:
    """An in-memory pre/post scene implementing the SceneSource protocol."""

    dates = ("pre", "post")
    bands = 3
    crs = None

    def __init__(self, pre: np.ndarray, post: np.ndarray, valid: np.ndarray):
        self.images = {"pre": pre, "post": post}
        self.valid = valid
        self.height, self.width = valid.shape
        from affine import Affine

        self.transform = Affine.identity()

    def read(self, window: PixelWindow):
        out = {d: np.zeros((3, window.height, window.width), np.float32) for d in self.dates}
        valid = np.zeros((window.height, window.width), bool)
        r0, c0 = max(window.row_off, 0), max(window.col_off, 0)
        r1 = min(window.row_off + window.height, self.height)
        c1 = min(window.col_off + window.width, self.width)
        if r1 > r0 and c1 > c0:
            rows = slice(r0 - window.row_off, r1 - window.row_off)
            cols = slice(c0 - window.col_off, c1 - window.col_off)
            for d in self.dates:
                out[d][:, rows, cols] = self.images[d][:, r0:r1, c0:c1]
            valid[rows, cols] = self.valid[r0:r1, c0:c1]
        return out, valid


@pytest.fixture
def dummy_model() -> InferenceModel:
    torch.manual_seed(0)
    return make_dummy_model()


@pytest.fixture
def array_scene() -> ArraySource:
    rng = np.random.default_rng(3)
    h, w = 150, 173  # not a multiple of the chip size
    pre = rng.random((3, h, w), dtype=np.float32)
    post = rng.random((3, h, w), dtype=np.float32)
    valid = np.ones((h, w), bool)
    valid[:10, :20] = False  # a nodata corner
    return ArraySource(pre, post, valid)
