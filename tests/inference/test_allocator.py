"""Malloc tuning: applied once on glibc, skipped when the user tuned malloc, and it stops page faults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from geovision.inference.allocator import user_tuned

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")

FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from geovision.inference.allocator import tune_malloc
    assert tune_malloc()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
blocks = [np.ones(5 * 2**20, np.float32) for _ in range(3)]   # 20 MB activations, like a model's
del blocks
before = faults()
for _ in range(10):
    blocks = [np.ones(5 * 2**20, np.float32) for _ in range(3)]
    del blocks
print((faults() - before) / 10)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MALLOC_") and key not in ("GLIBC_TUNABLES", "GEOVISION_MALLOC_TUNING")
    }
    return {**env, **extra}


def _faults_per_iteration(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FAULTS, mode], env=_clean_env(), capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def test_tuning_stops_page_faults_on_reused_activations():
    untuned, tuned = _faults_per_iteration("plain"), _faults_per_iteration("tuned")
    assert untuned > 100  # glibc hands the 20 MB blocks back and faults them in again
    assert tuned < untuned / 10  # tuned: the freed blocks are reused


def test_user_settings_win():
    assert not user_tuned({})
    assert user_tuned({"MALLOC_ARENA_MAX": "2"})
    assert user_tuned({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1000000"})
    assert user_tuned({"GEOVISION_MALLOC_TUNING": "0"})


def test_opt_out_leaves_malloc_alone():
    code = "from geovision.inference.allocator import tune_malloc; print(tune_malloc())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_clean_env(GEOVISION_MALLOC_TUNING="0"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_cpu_runtime_applies_tuning():
    code = (
        "import torch\nfrom geovision.inference.runtime import build_runtime\n"
        "from geovision.inference.allocator import tune_malloc\n"
        "class Model(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.conv = torch.nn.Conv2d(3, 1, 1)\n"
        "    def forward(self, x):\n        return {'buildings': self.conv(x)}\n"
        "build_runtime(Model(), ['buildings'], name='fp32', device='cpu', chip_px=32)\n"
        "print(tune_malloc.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_clean_env(), capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1"
