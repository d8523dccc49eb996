"""Keep freed memory in the process, so the model's large activations stop page-faulting (glibc).

glibc returns large blocks to the kernel as soon as they are freed (``mmap``/``munmap``, heap
trimming), so every forward pass of a segmentation model on a 512 px chip gets fresh, unmapped
memory for its 10-50 MB activations and pays a page fault per 4 KiB on first touch. Raising the
mmap threshold to its maximum (32 MiB), the trim threshold (1 GiB) and the top pad (256 MiB) lets
glibc reuse those blocks: a bf16 forward of the default model on 2 x 512 px went from 0.21 s to
0.16 s on the 2-core development CPU, with the same peak memory. It is the same advice as
Intel's and PyTorch's CPU tuning guides (jemalloc/tcmalloc via ``LD_PRELOAD``), done in-process.

Settings a user gives (``MALLOC_*`` environment variables or ``GLIBC_TUNABLES``) win;
``GEOVISION_MALLOC_TUNING=0`` turns this off. Other C libraries than glibc are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc <malloc.h>
SETTINGS: dict[int, int] = {
    M_MMAP_THRESHOLD: 32 * 2**20,  # glibc's maximum on 64-bit
    M_TRIM_THRESHOLD: 2**30,
    M_TOP_PAD: 256 * 2**20,
}


def user_tuned(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """Whether the user already tuned malloc, or asked geovision not to."""
    return (
        environ.get("GEOVISION_MALLOC_TUNING", "1") == "0"
        or "GLIBC_TUNABLES" in environ
        or any(key.startswith("MALLOC_") for key in environ)
    )


@functools.lru_cache(maxsize=1)
def tune_malloc() -> bool:
    """Apply :data:`SETTINGS` once per process; True when glibc accepted them."""
    if not sys.platform.startswith("linux") or user_tuned():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    accepted = all(mallopt(ctypes.c_int(option), ctypes.c_int(value)) == 1 for option, value in SETTINGS.items())
    log.debug("malloc tuning %s", "applied" if accepted else "refused")
    return accepted
