"""`frontdesk graph`: a workflow file drawn as SVG, the same picture the console shows."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.errors import ConfigError
from core.graph import draw
from core.workflow import load_workflow


@click.command()
@click.argument("workflow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the SVG file to write (default: standard output)",
)
def graph(workflow_file: Path, output: Path | None) -> None:
    """Draw WORKFLOW_FILE's steps and the ways between them as SVG."""
    try:
        workflow = load_workflow(workflow_file)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    svg = draw(workflow)
    if output is None:
        click.echo(svg)
        return
    output.write_text(svg + "\n", encoding="utf-8")
    click.echo(f"wrote {output}")
