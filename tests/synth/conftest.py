"""Shared synthetic scenes for the synth tests (generated once per session, seeded)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geovision.synth import generate_event
from geovision.synth.events import make_disaster, scene_bounds
from geovision.synth.generate import DEFAULT_ORIGIN
from geovision.synth.layout import build_town
from geovision.synth.render import SceneRenderer, draw_looks

EVENT_PX = 768


@pytest.fixture(scope="session")
def tornado_event(tmp_path_factory):
    """A 768 px tornado event written to disk (seed 1)."""
    return generate_event(tmp_path_factory.mktemp("synth") / "tornado", width=EVENT_PX, height=EVENT_PX, seed=1)


def rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


@pytest.fixture(scope="session")
def town_1km():
    """A 1 km x 1 km town (2000 px at 0.5 m) with a river."""
    return build_town(scene_bounds(2000, 2000, 0.5, DEFAULT_ORIGIN), rng(5), river=True)


@pytest.fixture(scope="session")
def renderer_512():
    """An in-memory renderer of a 512 px tornado scene (no files)."""
    bounds = scene_bounds(512, 512, 0.5, DEFAULT_ORIGIN)
    town = build_town(bounds, rng(11), river=False)
    disaster = make_disaster(town, "tornado", rng(12))
    transform = Affine(0.5, 0.0, bounds.xmin, 0.0, -0.5, bounds.ymax)
    return SceneRenderer(town, disaster, draw_looks(rng(13), 99), transform, 0.5, 1234)
