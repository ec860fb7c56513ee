"""Loading workflow definitions: safe YAML -> validated spec -> lint -> compiled workflow.

`load_text` never raises. Whatever a file holds, the designer gets a `LoadResult` whose
diagnostics say, each at a line and column, everything that is wrong with it: YAML
problems, every shape problem pydantic finds, then every problem of meaning `engine.language.lint`
finds. Only a definition with no error is compiled.

The steps live in their own modules: `yaml_nodes` reads the text into a node graph
(core schema, depth limit, parser errors in words), `yaml_data` turns the nodes into plain
data and positions (tags refused, aliases bounded, duplicate keys), `shape_errors` turns
pydantic's errors into diagnostics. This module holds the limits on the input, the order
of the steps, and the result.
"""

from __future__ import annotations

import gc
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml.nodes import MappingNode

from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.definitions.shape_errors import describe, shape_diagnostics
from engine.definitions.yaml_data import (
    MAX_ALIAS_VALUES,
    Builder,
    Refused,
    Unclean,
    fill_source_map,
    mark_position,
    plain_data,
)
from engine.definitions.yaml_nodes import MAX_DEPTH, parse_yaml
from engine.language.diagnostics import Diagnostic, Reporter, Severity, SourceMap, Words, YamlPath
from engine.language.lint import lint
from engine.language.spec import WorkflowSpec

__all__ = [
    "MAX_ALIAS_VALUES", "MAX_BYTES", "MAX_DEPTH", "Diagnostic", "LoadResult", "Severity",
    "load_file", "load_text",
]

MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadResult:
    """The spec (when it could be built), every diagnostic found, and the compiled workflow
    (only when there is no error)."""

    path: str
    text: str
    spec: WorkflowSpec | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: CompiledWorkflow | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


def load_text(text: str, path: str = "<string>", lang: str = "en") -> LoadResult:
    """Parse, validate, lint and (when there is no error) compile one definition.

    Never raises: every problem, including a failure of this code itself, comes back as
    a diagnostic.
    """
    lang = "zh" if lang == "zh" else "en"
    try:
        with _no_cycle_collection():
            return _load(text, path, lang)
    except Exception as exc:  # a bug of ours must reach the designer as a diagnostic
        report = Reporter(path, lang)
        report.add("error", "internal_error", (1, 1), detail=f"{type(exc).__name__}: {exc}")
        return LoadResult(path, text if isinstance(text, str) else "", None,
                          report.diagnostics)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Loading allocates hundreds of thousands of small objects (YAML nodes, the spec, CEL
    programs) and frees almost none, so the cyclic collector's passes find nothing and
    cost about 40 % of a large definition's load (measured: 200 states, 190 -> 112 ms).
    It is paused for the load and resumed after; reference counting still frees as usual.
    Another thread's load may resume it early, which only costs speed.

    What the load keeps (the spec, the compiled workflow) lives as long as its version is
    registered, so it goes straight to the oldest generation (`freeze`, then `unfreeze`,
    which move the tracked objects there without visiting them): otherwise the first
    allocation after resuming would walk all of it as young objects, to find nothing
    (the load leaves no reference cycle), then again as middle-aged ones. Not done when
    someone else froze objects on purpose (`unfreeze` would thaw theirs)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _load(text: str, path: str, lang: str) -> LoadResult:
    if not isinstance(text, str):
        report = Reporter(path, lang)
        report.add("error", "not_text", (1, 1))
        return _result(path, "", None, report)
    text = text.removeprefix("\ufeff")
    report = Reporter(path, lang, SourceMap(text))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeError:
        report.add("error", "not_text", (1, 1))
        return _result(path, text, None, report)
    if size > MAX_BYTES:
        report.add("error", "file_too_large", (1, 1), size=size, limit=MAX_BYTES)
        return _result(path, text, None, report)
    if _line_breaks_lost(text):
        report.add("error", "line_breaks_lost", (1, 1))
        return _result(path, text, None, report)
    root, nodes, parsed = parse_yaml(text, report)
    if not parsed:
        return _result(path, text, None, report)
    if root is None:
        report.add("error", "empty_file", (1, 1))
        return _result(path, text, None, report)
    if not isinstance(root, MappingNode):
        builder = Builder(report)
        try:
            actual = describe(builder.value(root, ()))
        except Refused:
            actual = describe([])
        report.add("error", "not_a_mapping", mark_position(root.start_mark), actual=actual)
        return _result(path, text, None, report)
    poisoned: list[YamlPath] = []
    try:
        data = plain_data(root, nodes)
        # positions are only needed to place a diagnostic: the source map is filled from
        # the same nodes, by the same walk as below, the first time one is asked for
        report.source.defer(partial(fill_source_map, root, path, lang))
    except Unclean:
        builder = Builder(report)
        try:
            data = builder.value(root, ())
        except Refused as refused:
            # an alias's own place is not kept by the composer: point at the key holding it
            where = refused.path
            while where and where not in report.source.keys:
                where = where[:-1]
            report.add("error", refused.code, report.source.locate(where, "key"),
                       **refused.args_)
            return _result(path, text, None, report)
        poisoned = builder.poisoned
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        shape_diagnostics(exc.errors(include_url=False), data, report, poisoned)
        return _result(path, text, None, report)
    report.diagnostics.extend(lint(spec, report.source, path=path, lang=lang))
    report.source.forget()  # every finding is placed: the nodes can go
    del root
    compiled = None
    if not any(d.severity == "error" for d in report.diagnostics):
        try:
            compiled = compile_workflow(spec, text)
        except Exception as exc:  # lint should have caught it; say so rather than crash
            report.add("error", "compile_failed", (1, 1), detail=str(exc) or type(exc).__name__)
    return _result(path, text, spec, report, compiled)


def _line_breaks_lost(text: str) -> bool:
    """A whole definition on one line: its line breaks were lost on the way (`curl -d`
    strips them), which YAML reads as one comment ("empty") or as one broken line."""
    body = text.strip()
    return "\n" not in body and (body.startswith("#") or body.count(": ") >= 3)


def _result(path: str, text: str, spec: WorkflowSpec | None, report: Reporter,
            compiled: CompiledWorkflow | None = None) -> LoadResult:
    unique = list(dict.fromkeys(report.diagnostics))
    unique.sort(key=Diagnostic.sort_key)
    return LoadResult(path, text, spec, unique, compiled)


def load_file(path: str | Path, lang: str = "en") -> LoadResult:
    """Read and load one definition file; a missing, huge or non-UTF-8 file is a diagnostic."""
    name = str(path)
    report = Reporter(name, "zh" if lang == "zh" else "en")
    try:
        file = Path(path)
        info = file.stat()
        if stat.S_ISDIR(info.st_mode):
            report.add("error", "file_unreadable", (1, 1),
                       reason=Words("it is a folder", "这是一个文件夹"))
            return _result(name, "", None, report)
        if info.st_size > MAX_BYTES:
            report.add("error", "file_too_large", (1, 1), size=info.st_size, limit=MAX_BYTES)
            return _result(name, "", None, report)
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        report.add("error", "file_not_found", (1, 1))
        return _result(name, "", None, report)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        report.add("error", "file_unreadable", (1, 1), reason=reason)
        return _result(name, "", None, report)
    if len(raw) > MAX_BYTES:
        report.add("error", "file_too_large", (1, 1), size=f">{MAX_BYTES}", limit=MAX_BYTES)
        return _result(name, "", None, report)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        report.add("error", "not_utf8", (before.count(b"\n") + 1, column))
        return _result(name, "", None, report)
    return load_text(text, name, lang)
