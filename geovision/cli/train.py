"""`geovision train CONFIG`: supervised multi-task training, checkpoints, resume, bundle export."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("train")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option(
    "--output-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Run folder (default: the config's output_dir, else outputs/train/<name>).",
)
@click.option(
    "--data-root",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder that relative data paths start from (overrides data_root).",
)
@click.option("--steps", type=int, default=None, help="Override trainer.steps.")
@click.option("--batch-size", type=int, default=None, help="Override trainer.batch_size.")
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:1, mps (overrides trainer.device).")
@click.option("--resume", is_flag=True, help="Continue the run in the output folder from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Discard an earlier run in the output folder.")
def command(config_path, output_dir, data_root, steps, batch_size, device, resume, overwrite) -> None:
    """Train the shared-backbone model described by CONFIG (YAML) and export a model bundle.

    Prints a progress line (step, loss, steps/s, ETA) every ``trainer.log_every`` steps unless -q.
    """
    import logging

    from geovision.train.config import load_config, parse_config

    if (click.get_current_context().find_object(dict) or {}).get("verbosity", 0) >= 0:
        logging.getLogger("geovision.train.run").setLevel(logging.INFO)
    from geovision.train.run import train

    config = load_config(config_path)
    raw = config.model_dump(mode="json")
    trainer = raw["trainer"]
    for key, value in (("steps", steps), ("batch_size", batch_size), ("device", device)):
        if value is not None:
            trainer[key] = value
    if output_dir is not None:
        raw["output_dir"] = output_dir
    if data_root is not None:  # relative to the current folder, unlike data_root in the file
        raw["data_root"] = str(Path(data_root).resolve())
    config = parse_config(raw, path=config_path)
    result = train(config, resume=resume, overwrite=overwrite)
    click.echo(f"trained {result.step} steps; bundle: {result.bundle}")
    for name, value in sorted(result.metrics.items()):
        click.echo(f"  {name}: {value:.4f}")
