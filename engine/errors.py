"""The engine's errors, one short hierarchy. Errors carry the values that caused them;
only `api/errors.py` turns them into HTTP statuses, and only `engine/cli.py` into exit codes.

    HatcheryError
    ├── DefinitionError            a workflow definition is invalid (carries diagnostics)
    ├── NotFound                   no such case / workflow / version / item
    ├── Refused                    the case did not change; `refusal` says why (data)
    │     codes: unknown_trigger, not_allowed_from_state, role_missing, input_invalid,
    │            guard_false, guard_error, checklist_incomplete, case_suspended,
    │            case_closed, effect_invalid, calendar_not_covered, invalid_data
    ├── Conflict                   someone else changed the case first (current version)
    ├── IntegrityError             the history no longer matches its hash chain
    └── StoreUnavailable           the database is missing, corrupt or locked
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Refusal:
    """Why a change was refused, as data: a stable code, bilingual text, and details.

    `details` holds what a client needs to act: per-field `errors`, `missing` checklist
    items, `required_roles`, `current_state`.
    """

    code: str
    en: str
    zh: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """The explanation in `lang` (zh or en)."""
        return self.zh if lang == "zh" else self.en


class HatcheryError(Exception):
    """Root of every error the engine raises on purpose."""


class DefinitionError(HatcheryError):
    """A workflow definition is invalid; `diagnostics` lists every problem found."""

    def __init__(self, message: str, diagnostics: list[Any] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


class NotFound(HatcheryError):
    """A case, workflow, version or item does not exist (or is outside the caller's scope)."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} '{key}' not found")
        self.kind = kind
        self.key = key


class NotYetStarted(NotFound):
    """A case asked about at an instant before it began: it exists, but had no state then."""

    def __init__(self, case_id: str, at: datetime, began: datetime) -> None:
        super().__init__("case", case_id)
        self.at = at
        self.began = began


class Refused(HatcheryError):
    """A change was refused and nothing was written."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.en)
        self.refusal = refusal


class Conflict(HatcheryError):
    """The case changed since the caller read it; carries the version now current."""

    def __init__(self, case_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"case {case_id} is at version {current}, not {expected}: read it again and retry"
        )
        self.case_id = case_id
        self.expected = expected
        self.current = current


class IntegrityError(HatcheryError):
    """The stored history no longer matches its hash chain."""


class StoreUnavailable(HatcheryError):
    """The database cannot be used (missing, corrupt, locked, unreachable)."""
