"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from geovision import defaults
from geovision.types import RUNTIMES


def parse_bands(_ctx: click.Context | None, _param: click.Parameter | None, text: str | None) -> tuple[int, ...] | None:
    """``--bands 1,2,3`` -> (1, 2, 3) (a click callback); None when not given."""
    if not text:
        return None
    try:
        bands = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise click.BadParameter(
            f"{text!r} is not a comma-separated list of band numbers, e.g. 1,2,3", param_hint="--bands"
        ) from error
    if not bands or min(bands) < 1:
        raise click.BadParameter(f"{text!r}: band numbers start at 1", param_hint="--bands")
    return bands


bands_option = click.option(
    "--bands",
    default=None,
    callback=parse_bands,
    help="1-based bands to use, in the model's order, e.g. 3,2,1 (default: chosen from the file: colour "
    "interpretation or band descriptions; a single band is used for every model band; else the only 3 "
    "non-alpha bands).",
)


def file_option(name: str, help: str, *names: str, **kwargs: Any):
    """An option naming a file (``click.Path(dir_okay=False)``); ``names``: e.g. the parameter's name."""
    return click.option(name, *names, type=click.Path(dir_okay=False), help=help, **kwargs)


def value_option(name: str, default: Any, help: str, *names: str, **kwargs: Any):
    """An option with a default shown in ``--help``, of the default's type (or ``type=``)."""
    kwargs.setdefault("type", type(default))
    return click.option(name, *names, default=default, show_default=True, help=help, **kwargs)


def choice_option(name: str, choices: Sequence[str], default: str | None, help: str | None = None):
    """An option taking one of ``choices`` (``default`` shown in ``--help``)."""
    return click.option(name, type=click.Choice(list(choices)), default=default, show_default=True, help=help)


MODEL_HELP = "Model bundle folder, or a shipped model: default (= fast), unet (slower, the teacher)."

model_option = value_option("--model", defaults.MODEL, MODEL_HELP, type=str)
runtime_option = choice_option(
    "--runtime",
    RUNTIMES,
    "auto",
    "Inference engine and precision: auto picks openvino on the CPU (fp32, where installed), bf16 on GPUs "
    "that have it, else fp16/fp32.",
)
device_option = value_option("--device", "auto", "Torch device: auto, cpu, cuda, cuda:N or mps.")
skip_post_option = click.option(
    "--skip-post-without-features",
    is_flag=True,
    help="Do not predict post-event windows whose pre-event chip holds no building or road: the impact "
    "figures stay the same, the post masks are 0 there (faster on sparse scenes).",
)
aoi_option = file_option(
    "--aoi",
    "Area of interest: a polygon vector file (any CRS); only its bounding box is processed, pixels outside "
    "its polygons are nodata.",
)


def overrides_option(example: str):
    """``-o/--option SECTION.KEY=VALUE`` (repeatable): set any field of the command's configuration."""
    return click.option(
        "-o",
        "--option",
        "overrides",
        multiple=True,
        metavar="SECTION.KEY=VALUE",
        help=f"Set any field of the configuration, e.g. {example} (repeatable; wins over the file and flags).",
    )


def overwrite_option(what: str = "Replace existing outputs."):
    """``--overwrite`` (every command that writes has it; ``what`` says what it replaces)."""
    return click.option("--overwrite", is_flag=True, help=what)


def grid_options(function):
    """``--cell-px`` and ``--theta``: the DII grid's cell size and impact threshold (defaults: geovision.defaults)."""
    function = click.option(
        "--theta", type=float, default=defaults.THETA, show_default=True, help="Cells with DII >= theta are impacted."
    )(function)
    return click.option(
        "--cell-px", type=int, default=defaults.CELL_PX, show_default=True, help="DII grid cell size in pixels."
    )(function)


def training_options(default_dir: str):
    """CONFIG and the overrides shared by `train` and `pretrain ...` (``-o section.key=value`` for any field)."""

    def decorate(function):
        for decorator in reversed(
            [
                click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False)),
                click.option(
                    "--output-dir",
                    default=None,
                    type=click.Path(file_okay=False),
                    help=f"Run folder (default: the config's output_dir, else {default_dir}/<name>).",
                ),
                click.option(
                    "--data-root",
                    default=None,
                    type=click.Path(file_okay=False),
                    help="Folder that relative data paths start from (overrides data_root).",
                ),
                click.option("--steps", type=int, default=None, help="Override trainer.steps."),
                click.option("--batch-size", type=int, default=None, help="Override trainer.batch_size (per process)."),
                click.option("--device", default=None, help="auto, cpu, cuda, cuda:1, mps (overrides trainer.device)."),
                overrides_option("-o optim.lr=0.001 -o trainer.log_every=10"),
                click.option(
                    "--resume", is_flag=True, help="Continue the run in the output folder from its checkpoint."
                ),
                overwrite_option("Discard an earlier run in the output folder."),
            ]
        ):
            function = decorator(function)
        return function

    return decorate


def training_config(config_path: str, *, output_dir, data_root, steps, batch_size, device, overrides) -> dict:
    """CONFIG read as a dict, with the command-line overrides applied (validation is the loader's)."""
    from geovision.config import apply_overrides, read_yaml

    raw = read_yaml(config_path)
    trainer = {k: v for k, v in (("steps", steps), ("batch_size", batch_size), ("device", device)) if v is not None}
    flags = [f"trainer.{key}={value}" for key, value in trainer.items()]
    raw = apply_overrides(raw, [*flags, *overrides], source=config_path)
    if output_dir is not None:
        raw["output_dir"] = output_dir
    if data_root is not None:  # relative to the current folder, unlike data_root in the file
        raw["data_root"] = str(Path(data_root).resolve())
    return raw
