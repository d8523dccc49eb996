"""`geovision pretrain ssl|distill|weak CONFIG`: pretraining beyond labelled data (data-parallel under torchrun)."""

from __future__ import annotations

from pathlib import Path

import click


def _options(function):
    for decorator in reversed(
        [
            click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False)),
            click.option(
                "--output-dir",
                default=None,
                type=click.Path(file_okay=False),
                help="Run folder (default: the config's output_dir, else outputs/pretrain/<name>).",
            ),
            click.option(
                "--data-root",
                default=None,
                type=click.Path(file_okay=False),
                help="Folder that relative data paths start from (overrides data_root).",
            ),
            click.option("--steps", type=int, default=None, help="Override trainer.steps."),
            click.option("--batch-size", type=int, default=None, help="Override trainer.batch_size (per process)."),
            click.option("--device", default=None, help="auto, cpu, cuda, mps (overrides trainer.device)."),
            click.option("--resume", is_flag=True, help="Continue the run in the output folder."),
            click.option("--overwrite", is_flag=True, help="Discard an earlier run in the output folder."),
        ]
    ):
        function = decorator(function)
    return function


def _load(loader, config_path: str, *, output_dir, data_root, steps, batch_size, device):
    """Read CONFIG with ``loader`` and apply the command-line overrides."""
    from geovision.config import read_yaml

    raw = read_yaml(config_path)
    overrides = {k: v for k, v in (("steps", steps), ("batch_size", batch_size), ("device", device)) if v is not None}
    if overrides:
        trainer = raw.get("trainer") or {}
        raw["trainer"] = {**trainer, **overrides} if isinstance(trainer, dict) else trainer  # else: schema error
    if output_dir is not None:
        raw["output_dir"] = output_dir
    if data_root is not None:  # relative to the current folder, unlike data_root in the file
        raw["data_root"] = str(Path(data_root).resolve())
    return loader(config_path, raw)


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
@_options
def ssl(config_path, output_dir, data_root, steps, batch_size, device, resume, overwrite) -> None:
    """Contrastive (MoCo v2 / SimCLR) pretraining of an encoder on unlabelled tiles."""
    from geovision.pretrain.config import load_ssl_config
    from geovision.pretrain.ssl import pretrain_ssl

    config = _load(
        load_ssl_config,
        config_path,
        output_dir=output_dir,
        data_root=data_root,
        steps=steps,
        batch_size=batch_size,
        device=device,
    )
    result = pretrain_ssl(config, resume=resume, overwrite=overwrite)
    click.echo(f"pretrained {result.step} steps (loss {result.loss:.4f}); encoder: {result.encoder}")
    click.echo(f"  start training from it with `init_from: {result.encoder}`")


@command.command("distill")
@_options
def distill(config_path, output_dir, data_root, steps, batch_size, device, resume, overwrite) -> None:
    """Student learns a teacher bundle's soft masks on unlabelled images, then fine-tunes on labels."""
    from geovision.pretrain.config import load_distill_config
    from geovision.pretrain.distill import distill as run

    config = _load(
        load_distill_config,
        config_path,
        output_dir=output_dir,
        data_root=data_root,
        steps=steps,
        batch_size=batch_size,
        device=device,
    )
    result = run(config, resume=resume, overwrite=overwrite)
    click.echo(
        f"student: {result.pseudo.step} pseudo-label steps"
        + (f", {result.finetune.step} fine-tuning steps" if result.finetune else "")
        + f"; bundle: {result.bundle}"
    )
    _echo_metrics((result.finetune or result.pseudo).metrics)


@command.command("weak")
@_options
def weak(config_path, output_dir, data_root, steps, batch_size, device, resume, overwrite) -> None:
    """Supervised training with a loss and sampling robust to noisy/misaligned labels."""
    from geovision.pretrain.config import load_weak_config
    from geovision.pretrain.weak import train_weak

    config = _load(
        load_weak_config,
        config_path,
        output_dir=output_dir,
        data_root=data_root,
        steps=steps,
        batch_size=batch_size,
        device=device,
    )
    result = train_weak(config, resume=resume, overwrite=overwrite)
    click.echo(f"trained {result.step} steps; bundle: {result.bundle}")
    _echo_metrics(result.metrics)
