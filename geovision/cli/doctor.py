"""`geovision doctor`: print the software stack, fail with a fix when it is broken."""

from __future__ import annotations

import click

from geovision.errors import StackError


@click.command("doctor")
def command() -> None:
    """Print versions of Python, torch, GDAL, PROJ, drivers, CUDA and threads."""
    from rich.console import Console
    from rich.table import Table

    from geovision.doctor import broken, run_checks

    checks = run_checks()
    table = Table(title="geovision doctor", show_header=True)
    table.add_column("component")
    table.add_column("version / state")
    table.add_column("ok")
    for check in checks:
        table.add_row(check.name, check.value, "yes" if check.ok else "NO")
    Console(soft_wrap=True).print(table)
    failed = broken(checks)
    if failed:
        fixes = "; ".join(f"{check.name}: {check.fix}" for check in failed)
        raise StackError(f"{len(failed)} required component(s) broken", fix=fixes)
    click.echo("stack OK")
