"""The report every adapt acceptance benchmark writes: what was adapted, how long, and the scores."""

from __future__ import annotations

import json
import resource
from argparse import ArgumentParser, Namespace
from pathlib import Path

from geovision.adapt.run import AdaptOptions

RECIPE = ("lr", "ignore_edge_px", "negative_weight", "gap_m", "gap_weight")  # AdaptOptions fields a benchmark may vary


def add_recipe_options(parser: ArgumentParser) -> None:
    """``--lr``, ``--ignore-edge-px``, ``--negative-weight``, ``--gap-m``, ``--gap-weight``: adapt's recipe
    (default: AdaptOptions')."""
    for name in RECIPE:
        default = getattr(AdaptOptions, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)


def recipe(args: Namespace) -> dict:
    return {name: getattr(args, name) for name in RECIPE}


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
