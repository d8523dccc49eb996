"""`geovision pretrain ssl|distill|weak CONFIG`: pretraining beyond labelled data (data-parallel under torchrun)."""

from __future__ import annotations

import click

from geovision.cli.options import training_config, training_options


def _echo_metrics(metrics: dict[str, float]) -> None:
    for name, value in sorted(metrics.items()):
        click.echo(f"  {name}: {value:.4f}")


@click.group("pretrain")
def command() -> None:
    """Pretrain backbones: self-supervised (ssl), teacher/student (distill), weak labels (weak).

    Every subcommand runs data-parallel when launched with
    `torchrun --nproc-per-node=N -m geovision pretrain ...`.
    """


@command.command("ssl")
@training_options("outputs/pretrain")
def ssl(config_path, resume, overwrite, **overrides) -> None:
    """Contrastive (MoCo v2 / SimCLR) pretraining of an encoder on unlabelled tiles."""
    from geovision.pretrain.config import load_ssl_config
    from geovision.pretrain.ssl import pretrain_ssl

    config = load_ssl_config(config_path, training_config(config_path, **overrides))
    result = pretrain_ssl(config, resume=resume, overwrite=overwrite)
    click.echo(f"pretrained {result.step} steps (loss {result.loss:.4f}); encoder: {result.encoder}")
    click.echo(f"  start training from it with `init_from: {result.encoder}`")


@command.command("distill")
@training_options("outputs/pretrain")
def distill(config_path, resume, overwrite, **overrides) -> None:
    """Student learns a teacher bundle's soft masks on unlabelled images, then fine-tunes on labels."""
    from geovision.pretrain.config import load_distill_config
    from geovision.pretrain.distill import distill as run

    config = load_distill_config(config_path, training_config(config_path, **overrides))
    result = run(config, resume=resume, overwrite=overwrite)
    click.echo(
        f"student: {result.pseudo.step} pseudo-label steps"
        + (f", {result.finetune.step} fine-tuning steps" if result.finetune else "")
        + f"; bundle: {result.bundle}"
    )
    _echo_metrics((result.finetune or result.pseudo).metrics)


@command.command("weak")
@training_options("outputs/pretrain")
def weak(config_path, resume, overwrite, **overrides) -> None:
    """Supervised training with a loss and sampling robust to noisy/misaligned labels."""
    from geovision.pretrain.config import load_weak_config
    from geovision.pretrain.weak import train_weak

    config = load_weak_config(config_path, training_config(config_path, **overrides))
    result = train_weak(config, resume=resume, overwrite=overwrite)
    click.echo(f"trained {result.step} steps; bundle: {result.bundle}")
    _echo_metrics(result.metrics)
