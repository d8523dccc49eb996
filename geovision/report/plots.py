"""Small matplotlib plots of a run, as PNG bytes (Agg backend, no display needed)."""

from __future__ import annotations

import io

import numpy as np


def dii_histogram_png(dii: np.ndarray, *, theta: float, title: str = "DII of grid cells") -> bytes:
    """Histogram of the defined cells' DII with the impact threshold ``theta`` marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(dii, dtype=float)
    values = values[np.isfinite(values)]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if values.size:
        ax.hist(values, bins=min(40, max(5, values.size // 3)), color="#fd8d3c", edgecolor="#7f2704")
    ax.axvline(theta, color="#08519c", linestyle="--", label=f"theta = {theta:g}")
    ax.set(xlabel="DII (lost feature pixels / mean feature pixels per cell)", ylabel="cells", title=title)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
