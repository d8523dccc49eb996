"""Streaming: peak memory does not grow with the scene size (the 20000 px figure is in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = """
import json, resource, sys
from geovision.synth import generate_event
generate_event(sys.argv[2], width=int(sys.argv[1]), height=int(sys.argv[1]), seed=1)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def peak_rss_mb(size: int, out) -> float:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(out)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_of_a_16x_larger_scene_stays_nearly_flat(tmp_path):
    small = peak_rss_mb(1024, tmp_path / "small")
    large = peak_rss_mb(4096, tmp_path / "large")
    assert large < small + 150, (small, large)
    assert large < 1024
