"""`hatchery diagram` and `hatchery schema`: tools for the people who write workflows."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from engine import diagram as diagrams
from engine.loader import load_file
from engine.schema import render


class DiagramFormat(StrEnum):
    mermaid = "mermaid"
    svg = "svg"


class Language(StrEnum):
    en = "en"
    zh = "zh"


def diagram(
    file: Annotated[Path, typer.Argument(help="The workflow definition (YAML) to draw.")],
    format: Annotated[DiagramFormat, typer.Option(
        "--format", help="Mermaid stateDiagram-v2 text, or SVG.")] = DiagramFormat.mermaid,
    lang: Annotated[Language, typer.Option(
        "--lang", help="Language of the labels.")] = Language.en,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Draw a workflow: its states, steps, transitions, automatic moves and timers.

    A definition with errors is not drawn: its problems are printed (exit status 1).
    """
    try:
        result = load_file(file, lang=lang.value)
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: error: cannot read the file: {exc}", err=True)
        raise typer.Exit(1) from None
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if result.spec is None or errors:
        for problem in errors:
            typer.echo(problem.format(), err=True)
        if not errors:
            typer.echo(f"{file}: error: the definition could not be read", err=True)
        raise typer.Exit(1)
    draw = diagrams.svg if format is DiagramFormat.svg else diagrams.mermaid
    text = draw(result.spec, lang=lang.value)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"{output}: error: cannot write the diagram: {exc}", err=True)
        raise typer.Exit(1) from None


def schema() -> None:
    """Print the JSON Schema of the workflow language (the content of workflows/schema.json)."""
    typer.echo(render(), nl=False)
