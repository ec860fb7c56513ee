"""Refused attempts on a record's timeline: what someone tried that the door refused (a
guard, a role, the checklist, a stale form), marked as refused with the reason.

A refused change writes nothing of the record: the door keeps the attempt in the
operations log (`change_refused`, in the refusing transaction; the console's own when it
refuses a form before the door) with the address that was asked and the refusal's code.
Here those entries are read back for one record: every one for a person who may read the
operations log (auditors, admins), a person's own otherwise. The reason is said from the
code (the log keeps no message: a message could repeat what was typed, and the log is
read without `pii`) or, for a step whose one condition has a refusal the designer wrote,
by that text; the step from the console's address (`/cases/<id>/fire/<step>`) or, for
the API's `/events`, from the trigger the door keeps with the refusal.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import RowMapping

from api.console.i18n import TEXTS, text
from api.console.reading import Reading
from api.console.roles import AUDIT_ROLES
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import as_text
from engine.store.db import read_connection
from engine.store.tables import OPERATIONS

__all__ = ["described", "read", "reason"]

LIMIT = 200
"""The latest refused attempts shown on one record's timeline."""
PREFIXES = ("/cases/{id}/", "/api/v1/cases/{id}/")
"""The addresses of a record's changes: the console's and the API's."""


def _entries(reading: Reading, case_id: str, since: datetime | None
             ) -> list[RowMapping]:
    ops = OPERATIONS.c
    addressed = sa.or_(*(ops.target.startswith(prefix.format(id=case_id), autoescape=True)
                         for prefix in PREFIXES))
    query = (sa.select(ops.at, ops.actor, ops.target, ops.detail)
             .where(ops.action == "change_refused", addressed)
             .order_by(ops.id.desc()).limit(LIMIT))
    if since is not None:  # the log's time index narrows it to the record's lifetime
        query = query.where(ops.at >= since)
    if not reading.principal.roles & AUDIT_ROLES:
        query = query.where(ops.actor == reading.principal.name)
    with read_connection(reading.service.engine) as connection:
        return list(connection.execute(query).mappings())


def _what(reading: Reading, wf: CompiledWorkflow, target: str, case_id: str,
          trigger: object = None) -> str:
    """The step tried, from the address asked (the console's names it) or, through the
    API's `/events`, from the trigger the door recorded with the refusal."""
    lang = reading.lang
    rest = target.split(f"/cases/{case_id}/", 1)[-1].split("/")
    step = rest[1] if rest[0] == "fire" and len(rest) > 1 else trigger
    if isinstance(step, str) and step in wf.triggers:
        return text("attempt.fire", lang, what=reading.trigger_title(wf, step))
    key = f"attempt.{rest[0]}"
    return text(key if key in TEXTS else "attempt.change", lang)


def reason(code: str, lang: str) -> str:
    """Why it was refused, in the person's language."""
    key = f"attempt.reason.{code}"
    return text(key if key in TEXTS else "attempt.reason.other", lang)


def read(reading: Reading, case_id: str, since: datetime | None) -> list[RowMapping]:
    """The refused attempts on the record this person may see (the latest `LIMIT`), oldest
    first: `at`, `actor` (a sign-in or token name), `target` and `detail`."""
    return list(reversed(_entries(reading, case_id, since)))


def _declared(wf: CompiledWorkflow, target: str, case_id: str, lang: str,
              trigger: object = None) -> str | None:
    """The refusal the designer wrote for the step's one condition, when it has one and
    it names no value of the record (those values are not kept with the attempt)."""
    rest = target.split(f"/cases/{case_id}/fire/", 1)
    step = rest[1] if len(rest) == 2 else trigger
    found = [t.spec for t in wf.transitions if t.trigger == step]
    if len(found) != 1 or found[0].conditions or found[0].refusal is None:
        return None
    said = as_text(found[0].refusal, lang)
    return said.rstrip("。.") if said and "{" not in said else None


def described(reading: Reading, wf: CompiledWorkflow, case_id: str,
              entry: RowMapping) -> tuple[str, str]:
    """What was tried and why it was refused, in the person's language."""
    detail = entry["detail"] or {}
    target, code = str(entry["target"] or ""), str(detail.get("code", ""))
    trigger = detail.get("trigger")
    declared = (_declared(wf, target, case_id, reading.lang, trigger)
                if code == "guard_false" else None)
    return (_what(reading, wf, target, case_id, trigger),
            declared or reason(code, reading.lang))
