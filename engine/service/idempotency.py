"""Idempotency keys: a retried request with the same key returns the first result and
writes nothing new.

The record (key, fingerprint of the request, the result as JSON) is written in the
transaction of the change it answers for, so it exists exactly when the change does. The
door looks the key up twice: before anything else (the cheap common case), and again once
the case row is locked, because a retry that waited for the lock behind the first request
must see that request's record, not decide afresh on the state it left (which would refuse
or conflict although the change succeeded). The primary key on the records decides the
remaining races (two starts), also between processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from engine.core.refusals import refusal
from engine.core.snapshot import Actor
from engine.errors import Refused
from engine.service.views import CaseView, EventView, FireResult
from engine.store import repository as repo

__all__ = ["MAX_KEY", "Replayed", "check_key", "fingerprint", "record", "replay"]

MAX_KEY = 200


class Replayed(Exception):
    """Raised inside a transaction that found its key already used: roll back, answer
    with `result`."""

    def __init__(self, result: FireResult) -> None:
        super().__init__("replayed")
        self.result = result


def check_key(key: str) -> None:
    if not 0 < len(key) <= MAX_KEY:
        raise Refused(refusal("invalid_idempotency_key", {"key": key[:MAX_KEY]}, max=MAX_KEY))


def fingerprint(operation: str, actor: Actor, request: Mapping[str, Any]) -> str:
    """What makes two requests "the same" for an idempotency key (stable across runs)."""
    text = json.dumps({"operation": operation, "actor": actor.id, "request": dict(request)},
                      sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def replay(connection: Connection, key: str, print_: str) -> FireResult | None:
    """The first result recorded under `key`, or None; a different request under the
    same key is refused (`idempotency_key_reused`)."""
    found = repo.find_idempotency(connection, key)
    if found is None:
        return None
    if found["fingerprint"] != print_:
        raise Refused(refusal("idempotency_key_reused", {"key": key}, key=key))
    return replace(_result_from_json(found["response"]), replayed=True)


def record(connection: Connection, key: str, print_: str, operation: str, actor: Actor,
           result: FireResult) -> None:
    repo.insert_idempotency(connection, {
        "key": key, "actor": actor.id, "operation": operation, "fingerprint": print_,
        "case_id": result.case.id, "response": _result_to_json(result),
        "created_at": result.event.at})


def _plain_time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _event_to_json(event: EventView) -> dict[str, Any]:
    return {**event.__dict__, "at": _plain_time(event.at)}


def _event_from_json(raw: Mapping[str, Any]) -> EventView:
    return EventView(**{**raw, "at": _time(raw["at"])})


def _result_to_json(result: FireResult) -> dict[str, Any]:
    case = result.case
    plain_case = {
        **case.__dict__,
        "entered_at": _plain_time(case.entered_at),
        "created_at": _plain_time(case.created_at),
        "updated_at": _plain_time(case.updated_at),
        "follow_up_on": case.follow_up_on.isoformat() if case.follow_up_on else None,
        "checklist": {item: {**entry, "at": _plain_time(entry["at"])}
                      for item, entry in case.checklist.items()},
    }
    return {"case": plain_case, "event": _event_to_json(result.event),
            "automatic": [_event_to_json(e) for e in result.automatic]}


def _result_from_json(raw: Mapping[str, Any]) -> FireResult:
    plain = raw["case"]
    case = CaseView(**{
        **plain,
        "entered_at": _time(plain["entered_at"]),
        "created_at": _time(plain["created_at"]),
        "updated_at": _time(plain["updated_at"]),
        "follow_up_on": (date.fromisoformat(plain["follow_up_on"])
                         if plain.get("follow_up_on") else None),
        "checklist": {item: {**entry, "at": _time(entry["at"])}
                      for item, entry in plain["checklist"].items()},
    })
    return FireResult(case, _event_from_json(raw["event"]),
                      [_event_from_json(e) for e in raw["automatic"]])
