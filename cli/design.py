"""`hatchery diagram` and `hatchery schema`: tools for the people who write workflows."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.validate import Language
from engine.contrib import diagram as diagrams
from engine.definitions.loader import load_file
from engine.language.schema import render


class DiagramFormat(StrEnum):
    mermaid = "mermaid"
    svg = "svg"


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
    result = load_file(file, lang=lang.value)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors or result.spec is None:
        for problem in errors:
            typer.echo(problem.format(), err=True)
        raise typer.Exit(1)
    draw = diagrams.svg if format is DiagramFormat.svg else diagrams.mermaid
    text = draw(result.spec, lang=lang.value)
    if output is None:
        # A diagram is a UTF-8 document whatever the terminal's encoding, so that
        # `> file.mmd` keeps its Chinese labels intact.
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"{output}: error: cannot write the diagram: {exc}", err=True)
        raise typer.Exit(1) from None


def schema() -> None:
    """Print the JSON Schema of the workflow language (the content of workflows/schema.json)."""
    typer.echo(render(), nl=False)
