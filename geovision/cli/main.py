"""The ``geovision`` click group.

Sub-commands live in ``geovision/cli/<module>.py`` and expose a click object
named ``command``; they are imported only when invoked, so ``geovision --help``
stays fast and a broken optional stack only breaks the command that needs it.
Any :class:`~geovision.errors.GeovisionError` becomes a one-line message on
stderr and exit code 2 (full traceback with ``-v``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback

import click

from geovision import __version__
from geovision.errors import GeovisionError, output_write_error
from geovision.io.cache import gdal_cache
from geovision.progress import set_quiet

# command name -> module under geovision.cli (module exposes ``command``)
COMMANDS: dict[str, str] = {
    "doctor": "doctor",
    "synth": "synth",
    "align": "align",
    "segment": "segment",
    "train": "train",
    "pretrain": "pretrain",
    "adapt": "adapt",
    "vectorize": "vectorize",
    "impact": "impact",
    "population": "population",
    "evaluate": "evaluate",
    "run": "run",
    "events": "events",
}


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(f"geovision.cli.{name}") is not None


class LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, module in COMMANDS.items() if _module_exists(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None or not _module_exists(module):
            return None
        return importlib.import_module(f"geovision.cli.{module}").command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (GeovisionError, OSError) as error:
            known = error if isinstance(error, GeovisionError) else output_write_error(error)
            if known is None:
                raise
            if ctx.obj and ctx.obj.get("verbosity", 0) > 0:
                traceback.print_exc(file=sys.stderr)
            click.echo(f"Error: {known}", err=True)
            ctx.exit(known.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geovision")
@click.option("-v", "--verbose", count=True, help="More output (repeat for debug); tracebacks on errors.")
@click.option("-q", "--quiet", count=True, help="Only errors: no progress, stage lines or summary.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """geovision: where buildings and roads were lost, and who lives there."""
    verbosity = verbose - quiet
    ctx.ensure_object(dict)
    ctx.obj["verbosity"] = verbosity
    ctx.with_resource(gdal_cache())  # for the command's lifetime
    set_quiet(verbosity < 0)
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(
        level=max(logging.DEBUG, min(logging.ERROR, level)), format="%(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="geovision")


if __name__ == "__main__":
    main()
