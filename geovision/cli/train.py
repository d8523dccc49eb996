"""`geovision train CONFIG`: supervised multi-task training, checkpoints, resume, bundle export."""

from __future__ import annotations

import click

from geovision.cli.options import training_config, training_options


@click.command("train")
@training_options("outputs/train")
def command(config_path, resume, overwrite, **overrides) -> None:
    """Train the shared-backbone model described by CONFIG (YAML) and export a model bundle.

    Prints a progress line (step, loss, steps/s, ETA) every ``trainer.log_every`` steps unless -q.
    """
    import logging

    from geovision.train.config import parse_config

    if (click.get_current_context().find_object(dict) or {}).get("verbosity", 0) >= 0:
        logging.getLogger("geovision.train.run").setLevel(logging.INFO)
    from geovision.train.run import train

    raw = training_config(config_path, **overrides)
    config = parse_config(raw, path=config_path)
    result = train(config, resume=resume, overwrite=overwrite)
    click.echo(f"trained {result.step} steps; bundle: {result.bundle}")
    for name, value in sorted(result.metrics.items()):
        click.echo(f"  {name}: {value:.4f}")
