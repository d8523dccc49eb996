"""The report every adapt acceptance benchmark writes: what was adapted, how long, and the scores."""

from __future__ import annotations

import json
import resource
from pathlib import Path


def write_report(path: Path, result, adapt_s: float, scores: dict[str, dict[str, float]], **fields) -> dict:
    """Write (and print) the JSON report of one adapt run: ``fields``, the run's figures and the gains."""
    report = {
        **fields,
        "adapted_kept": result.adapted,
        "steps": result.steps,
        "adapt_minutes": round(adapt_s / 60, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "validation_blocks": {"base": result.base, "adapted": result.after},
        "scores": scores,
        "gain": {key: scores["adapted"][key] - scores["base"][key] for key in scores["base"]},
    }
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report
