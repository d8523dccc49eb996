"""`geovision events`: the events of the catalog (data_catalog.yaml) that `geovision run EVENT` accepts."""

from __future__ import annotations

import json

import click

REQUIRES = {"nothing": "ready", "shared-data": "needs ../shared/data", "network": "needs network access"}


def status(loaded, name: str) -> str:
    """ready, or what the event still needs (its catalog `requires`, when its files are not all there)."""
    spec = loaded.event(name)
    if spec.requires == "network" or loaded.missing_files(name):
        return REQUIRES[spec.requires] if spec.requires != "nothing" else "files missing"
    return "ready"


@click.command("events")
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False),
    default=None,
    help="Event catalog (default: the one shipped in the package; GEOVISION_CATALOG overrides).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
def command(catalog: str | None, as_json: bool) -> None:
    """List the catalog's events: name, date, kind, what it needs, title."""
    from geovision.catalog import load_catalog

    loaded = load_catalog(catalog)
    rows = [
        {
            "name": name,
            "date": spec.date,
            "kind": spec.kind,
            "requires": spec.requires,
            "status": status(loaded, name),
            "title": spec.title,
            "description": spec.description,
            "licence": spec.licence,
            "attribution": spec.attribution,
        }
        for name, spec in ((n, loaded.event(n)) for n in loaded.names)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max(len(row["name"]) for row in rows) if rows else 4
    for row in rows:
        click.echo(
            f"{row['name']:{width}s}  {row['date'] or '-':10s}  {row['kind']:9s}  {row['status']:20s}  {row['title']}"
        )
    click.echo(f"({len(rows)} events in {loaded.path}; run one with `geovision run NAME --out DIR`)")
