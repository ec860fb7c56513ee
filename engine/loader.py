"""Loading workflow definitions: safe YAML -> validated spec, with located diagnostics.

(First cut: the full diagnostics with line/column and lint come with `engine.lint`.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from engine.spec import WorkflowSpec

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a definition file, located for a designer."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class LoadResult:
    """The spec (when it could be built) and every diagnostic found."""

    path: str
    text: str
    spec: WorkflowSpec | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.spec is not None and not any(
            d.severity == "error" for d in self.diagnostics
        )


def load_text(text: str, path: str = "<string>", lang: str = "en") -> LoadResult:
    """Parse and validate one definition given as text."""
    yaml = YAML(typ="safe", pure=True)
    try:
        raw = yaml.load(text)
    except YAMLError as exc:
        return LoadResult(path, text, None, [Diagnostic(path, 1, 1, "error", "yaml", str(exc))])
    try:
        spec = WorkflowSpec.model_validate(raw)
    except ValidationError as exc:
        return LoadResult(path, text, None, [
            Diagnostic(path, 1, 1, "error", e["type"], f"{e['loc']}: {e['msg']}")
            for e in exc.errors()
        ])
    return LoadResult(path, text, spec, [])


def load_file(path: str | Path, lang: str = "en") -> LoadResult:
    """Read and load one definition file."""
    p = Path(path)
    return load_text(p.read_text(encoding="utf-8"), str(p), lang)
