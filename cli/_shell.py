"""Plumbing shared by the operator commands (`case`, `audit`, `migrate`).

Every failure an operator can meet becomes one line on standard error and an exit status,
never a traceback:

- 1: the request was understood and refused: not found, conflict, a refusal of the engine
  (forbidden role, invalid input, guard false, checklist incomplete, suspended, closed),
  a history that does not verify;
- 2: the command cannot run: bad JSON or an unreadable file, the database missing,
  corrupt, locked or unreachable, the shipped workflow definitions invalid.

Set `HATCHERY_DEBUG=1` to see the traceback of an unexpected failure as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from cli.validate import Language
from engine.catalogue import Catalogue
from engine.errors import (
    Conflict,
    DefinitionError,
    HatcheryError,
    NotFound,
    Refused,
    StoreUnavailable,
)
from engine.timers.calendar import CHINA_TZ

if TYPE_CHECKING:
    from engine.core.decision import Actor
    from engine.service import CaseService

__all__ = ["REFUSED", "UNUSABLE", "Language", "actor_of", "fail", "operator_errors",
           "parse_object", "service", "shown_time", "tolerate_any_terminal"]

REFUSED = 1
UNUSABLE = 2

# What a NotFound names (its `kind` is the English word).
_KINDS = Catalogue.en_zh("cli.kinds", {
    "case": ("case", "事项"), "workflow": ("workflow", "流程"),
    "workflow version": ("workflow version", "流程版本"), "timer": ("timer", "计时器"),
    "item": ("item", "清单项"),
})


def fail(message: str, code: int = UNUSABLE) -> NoReturn:
    """Print `message` as one line on standard error and exit with `code`."""
    typer.echo(" ".join(message.split()), err=True)
    raise typer.Exit(code)


def describe(error: HatcheryError, lang: str) -> tuple[str, int]:
    """The one-line message of an engine error in `lang`, and its exit status."""
    zh = lang == "zh"
    if isinstance(error, Refused):
        refusal = error.refusal
        prefix = "拒绝" if zh else "refused"
        return f"{prefix} [{refusal.code}]: {refusal.message(lang)}", REFUSED
    if isinstance(error, Conflict):
        if zh:
            return (f"冲突：事项 {error.case_id} 当前版本为 {error.current}，而不是 "
                    f"{error.expected}；请重新读取后再试", REFUSED)
        return f"conflict: {error}", REFUSED
    if isinstance(error, NotFound):
        if zh:
            kind = _KINDS.text(error.kind, lang) if error.kind in _KINDS else error.kind
            return f"未找到{kind}“{error.key}”", REFUSED
        return f"not found: {error.kind} '{error.key}'", REFUSED
    if isinstance(error, StoreUnavailable):
        return (f"数据库不可用：{error}" if zh else f"error: {error}"), UNUSABLE
    if isinstance(error, DefinitionError):
        return (f"流程定义有误：{error}" if zh else f"error: {error}"), UNUSABLE
    return f"error: {error}", UNUSABLE


@contextlib.contextmanager
def operator_errors(lang: str = "en") -> Iterator[None]:
    """Turn whatever goes wrong inside into one line and an exit status."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except HatcheryError as error:
        message, code = describe(error, lang)
        fail(message, code)
    except Exception as error:  # the last guard: an operator never gets a traceback
        if os.environ.get("HATCHERY_DEBUG"):
            traceback.print_exc()
        fail(f"error: unexpected failure ({type(error).__name__}: {error}); "
             "HATCHERY_DEBUG=1 shows where", UNUSABLE)


def parse_object(text: str | None, option: str) -> dict[str, Any]:
    """A JSON object given inline, as `@path` (a UTF-8 file) or `@-` (standard input)."""
    if text is None or not text.strip():
        return {}
    source = text.strip()
    where = option
    if source.startswith("@"):
        name = source[1:]
        where = f"{option} {source}"
        try:
            source = sys.stdin.read() if name == "-" else Path(name).read_text(
                encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            fail(f"error: {option}: cannot read {name}: "
                 f"{getattr(error, 'strerror', None) or error}")
    try:
        value = json.loads(source)
    except json.JSONDecodeError as error:
        fail(f"error: {where} is not valid JSON: {error.msg} at line {error.lineno} "
             f"column {error.colno}")
    if not isinstance(value, dict):
        fail(f"error: {where} must be a JSON object such as {{\"name\": \"...\"}}, "
             f"not {type(value).__name__}")
    return value


def actor_of(actor: str | None, roles: list[str] | None) -> Actor:
    """The person acting, with their roles (`--actor` is required for a change)."""
    from engine.core.decision import Actor

    name = (actor or "").strip()
    if not name:
        fail("error: --actor is required: who does this is recorded in the history "
             "(or set HATCHERY_ACTOR)")
    if name.startswith("system:"):
        fail(f"error: --actor {name!r}: names starting with 'system:' are the engine's own")
    return Actor(name, frozenset(r.strip() for r in roles or [] if r.strip()))


@contextlib.contextmanager
def service() -> Iterator[CaseService]:
    """The service on the configured database (schema upgraded, shipped workflows
    registered), disposed of afterwards."""
    from engine.service import build_service
    from engine.settings import Settings

    found = build_service(Settings())
    try:
        yield found
    finally:
        found.engine.dispose()


def shown_time(moment: datetime | None) -> str:
    """A moment as operators read it: China time, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def plain(value: Any) -> Any:
    """`value` as plain JSON types (datetimes as ISO 8601)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Pretty JSON on standard output, UTF-8 whatever the terminal."""
    text = json.dumps(plain(value), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
    else:
        buffer.write(text.encode("utf-8"))
        buffer.flush()


def tolerate_any_terminal() -> None:
    """Chinese text on a terminal that cannot show it is escaped, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
