"""Training steps/s on this machine for the choices that cost CPU time: precision, memory format,
chip size, batch size and data loading (packed in-memory scenes vs reading files per chip).

    .venv/bin/python benchmarks/train_step_speed.py [--config configs/train/robust-cpu.yaml] [--steps 12]

Each variant trains ``--steps`` steps of the config's model from the same start (the first two
are warm-up and not timed) and prints steps/s and samples/s; variants run one after another in
one process, so the figures are ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from geovision.train.config import load_config
from geovision.train.run import build_loaders, build_model, build_trainer


def measure(config, *, steps: int, cache: Path) -> float:
    torch.manual_seed(0)
    device = torch.device("cpu")
    model = build_model(config, pretrained=False)
    trainer = build_trainer(config, model, device=device, hooks=[])
    loader, _ = build_loaders(config, cache_dir=cache, device=device)
    batches = iter(loader)
    for _ in range(2):
        trainer.train_step(next(batches))
    started = time.perf_counter()
    for _ in range(steps - 2):
        trainer.train_step(next(batches))
    return (steps - 2) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/train/robust-cpu.yaml")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument(
        "--variants", nargs="+", default=["base", "fp32", "channels_last", "chip192", "batch16", "workers0", "files"]
    )
    args = parser.parse_args()
    base = load_config(args.config)
    changes = {
        "base": {},
        "fp32": {"trainer.amp": "off"},
        "channels_last": {"trainer.channels_last": True},
        "chip192": {"data.chip_px": 192},
        "batch16": {"trainer.batch_size": 16},
        "workers0": {"data.workers": 0},
        "files": {"data.pack": False},
    }
    with tempfile.TemporaryDirectory() as cache:
        for name in args.variants:
            raw = base.model_dump()
            for key, value in changes[name].items():
                section, field = key.split(".")
                raw[section][field] = value
            raw["trainer"]["steps"] = args.steps
            raw["optim"]["warmup_steps"] = 1
            config = type(base).model_validate(raw)
            rate = measure(config, steps=args.steps, cache=Path(cache))
            samples = rate * config.trainer.batch_size * (config.data.chip_px / 256) ** 2
            print(f"{name:14s} {rate:6.3f} steps/s  {samples:6.2f} samples/s (256 px equivalent)", flush=True)


if __name__ == "__main__":
    main()
