"""Regenerate the generated parts of docs/workflows.md from the shipped workflows.

docs/workflows.md is written by hand, except the blocks between

    <!-- BEGIN GENERATED <workflow id> -->
    <!-- END GENERATED <workflow id> -->

which hold what the YAML itself says and must never drift from it: the version, source and
roles, the Mermaid diagram (`engine.diagram.mermaid`, English labels) and the table of
parameters with their defaults. Everything outside the markers (what the workflow models,
which rule each guard and timer enforces) is prose and is left exactly as it is.

    python docs/generate_workflows_md.py           # rewrite the blocks in place
    python docs/generate_workflows_md.py --check   # exit 1 if the committed file is stale

`tests/test_workflows_doc.py` runs the check, so a changed workflow fails the suite until
its documentation is regenerated.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from engine.contrib.diagram import mermaid
from engine.definitions.loader import load_file
from engine.language.spec import ParameterSpec, WorkflowSpec, as_text

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "workflows.md"
WORKFLOWS = ROOT / "workflows"

_BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED (?P<id>[a-z][a-z0-9_]*) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- END GENERATED (?P=id) -->)",
    re.DOTALL,
)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _default(parameter: ParameterSpec) -> str:
    value = parameter.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _bounds(parameter: ParameterSpec) -> str:
    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else str(value)

    parts = []
    if parameter.min is not None:
        parts.append(f"≥ {number(parameter.min)}")
    if parameter.max is not None:
        parts.append(f"≤ {number(parameter.max)}")
    return f"{parameter.type} ({', '.join(parts)})" if parts else parameter.type


def _parameters(spec: WorkflowSpec) -> list[str]:
    if not spec.parameters:
        return ["This workflow has no parameters."]
    lines = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for name, parameter in spec.parameters.items():
        meaning = as_text(parameter.title, "en", name)
        zh = as_text(parameter.title, "zh")
        if zh and zh != meaning:
            meaning = f"{meaning} ({zh})"
        note = as_text(parameter.description, "en")
        if note:
            meaning = f"{meaning}. {note}"
        lines.append(f"| `{name}` | {_bounds(parameter)} | {_default(parameter)} "
                     f"| {_cell(meaning)} |")
    return lines


def block(workflow_id: str) -> str:
    """The generated part of one workflow's section (without the markers)."""
    result = load_file(WORKFLOWS / f"{workflow_id}.yaml")
    spec = result.spec
    if spec is None or result.compiled is None:
        problems = "\n".join(d.format() for d in result.errors)
        raise SystemExit(f"{workflow_id}: the workflow does not load:\n{problems}")
    lines = [
        f"Version {spec.version} · file `workflows/{workflow_id}.yaml` · "
        f"roles: {', '.join(f'`{r}`' for r in spec.roles) or 'none declared'}",
        "",
        f"> {_cell(spec.source or '')}",
        "",
        "```mermaid",
        mermaid(spec, lang="en").rstrip("\n"),
        "```",
        "",
        "Parameters (a community overrides them; the default is the common value):",
        "",
        *_parameters(spec),
    ]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """`text` with every generated block rewritten from the current workflows."""
    def fill(match: re.Match[str]) -> str:
        return f"{match['begin']}{block(match['id'])}{match['end']}"

    return _BLOCK.sub(fill, text)


def documented(text: str) -> list[str]:
    """The workflow ids that have a generated block in `text`, in order."""
    return [m["id"] for m in _BLOCK.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when docs/workflows.md is out of date")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{DOC.relative_to(ROOT)} is out of date: "
                  "run python docs/generate_workflows_md.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        DOC.write_text(fresh, encoding="utf-8")
        print(f"rewrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
