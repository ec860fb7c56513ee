"""`hatchery validate FILE...`: every problem in every definition, in one run.

Prints one line per problem, `path:line:column: error|warning: message`, sorted by file,
line and column, then a summary. Exit status 1 when any error was found (with `--strict`,
warnings count as errors), 0 otherwise. Whatever the files hold, this never prints a
traceback: `engine.definitions.loader` turns every failure into a diagnostic.
"""

from __future__ import annotations

import contextlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from engine.definitions.loader import load_file
from engine.language.diagnostics import Diagnostic, Reporter, Words

SUFFIXES = (".yaml", ".yml")


class Language(StrEnum):
    en = "en"
    zh = "zh"


def validate(
    files: Annotated[list[str], typer.Argument(
        metavar="FILE", help="Definition files (or folders of .yaml files).")],
    lang: Annotated[Language, typer.Option(
        "--lang", help="Language of the messages.")] = Language.en,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Treat warnings as errors.")] = False,
) -> None:
    """Check workflow definitions and report every problem with its line and column."""
    _tolerate_any_terminal()
    language = lang.value
    paths = _expand(files, language)
    diagnostics: list[Diagnostic] = []
    for path, problem in paths:
        if problem is not None:
            diagnostics.append(problem)
        else:
            diagnostics.extend(load_file(path, language).diagnostics)
    if strict:
        diagnostics = [d.as_error() for d in diagnostics]
    diagnostics.sort(key=Diagnostic.sort_key)
    for diagnostic in diagnostics:
        typer.echo(diagnostic.format())
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    typer.echo(summary(len(paths), errors, warnings, language))
    raise typer.Exit(1 if errors else 0)


def _expand(files: list[str], lang: str) -> list[tuple[str, Diagnostic | None]]:
    """Files as given; a folder stands for the .yaml/.yml files directly inside it."""
    out: list[tuple[str, Diagnostic | None]] = []
    for name in files:
        folder = Path(name)
        if not folder.is_dir():
            out.append((name, None))
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        if not found:
            report = Reporter(name, lang)
            report.add("error", "file_unreadable", (1, 1), reason=_NO_YAML)
            out.append((name, report.diagnostics[0]))
        out.extend((str(p), None) for p in found)
    return out


_NO_YAML = Words("the folder holds no .yaml files", "文件夹中没有 .yaml 文件")


def summary(files: int, errors: int, warnings: int, lang: str = "en") -> str:
    """`2 files, 3 errors, 1 warning` (or its Chinese equivalent)."""
    if lang == "zh":
        return f"{files} 个文件，{errors} 个错误，{warnings} 个警告"

    def count(n: int, word: str) -> str:
        return f"{n} {word}" if n == 1 else f"{n} {word}s"

    return ", ".join((count(files, "file"), count(errors, "error"), count(warnings, "warning")))


def _tolerate_any_terminal() -> None:
    """Chinese messages on a terminal that cannot show them are escaped, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
