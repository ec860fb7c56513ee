"""The case row as a checked projection of its events.

The chain vouches for the events; the case row (what queries, scopes and the next change
read) must be what those events add up to, or an edit to the row alone would go unnoticed:
moving a case's community moves it into another scope, editing its data changes what a
guard sees. `projection_break` replays a case's event bodies and compares the row:

- `data`: the start event's changes, then every later event's changes (a change to None
  removes the field);
- `workflow_version`: that of the last event (its state the chain itself checks);
- `status`: closed when that state is final in the case's workflow version, suspended
  after a `suspend` not followed by a `resume`, active otherwise;
- `version`: one per event (the row's version counter equals its event count);
- `community`: the one the start event recorded (events written before the start event
  recorded it leave the community unchecked).

Pure: the caller supplies the row, the bodies in sequence order and `is_final`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.ledger.chain import ChainBreak, canonical_json

PROJECTION_MISMATCH = "projection_mismatch"
"""The case row says what its events do not (its data, community, status or version)."""

IsFinal = Callable[[str, str, str], bool | None]
"""(workflow id, version, state) -> whether the state is final; None when unknown."""
Defaults = Callable[[str, str], Mapping[str, Any]]
"""(workflow id, version) -> the fields' defaults (a start before defaults were recorded
in its changes left them out)."""


def _no_defaults(workflow_id: str, version: str) -> Mapping[str, Any]:
    return {}


def replay(bodies: Sequence[Mapping[str, Any]], workflow_id: str,
           is_final: IsFinal, defaults: Defaults = _no_defaults) -> dict[str, Any]:
    """What the events add up to: data, state, workflow_version, status, version and the
    community the start recorded (None when it did not)."""
    data: dict[str, Any] = {}
    state = version = None
    suspended = False
    community = None
    for body in bodies:
        if body.get("kind") == "start":
            data = dict(defaults(workflow_id, str(body.get("workflow_version"))))
            community = body.get("community")
        for name, value in dict(body.get("changes") or {}).items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if isinstance(body.get("to_state"), str):
            state = body["to_state"]
        if isinstance(body.get("workflow_version"), str):
            version = body["workflow_version"]
        if body.get("kind") == "suspend":
            suspended = True
        elif body.get("kind") == "resume":
            suspended = False
    final = (is_final(workflow_id, version, state)
             if state is not None and version is not None else None)
    status = "closed" if final else "suspended" if suspended else "active"
    return {"data": data, "state": state, "workflow_version": version,
            "status": None if final is None else status, "version": len(bodies),
            "community": community}


def _same(a: Any, b: Any) -> bool:
    try:
        return canonical_json(a) == canonical_json(b)
    except (TypeError, ValueError):
        return False


def projection_break(row: Mapping[str, Any], bodies: Sequence[Mapping[str, Any]],
                     is_final: IsFinal, defaults: Defaults = _no_defaults
                     ) -> ChainBreak | None:
    """The first column of `row` its events do not account for, or None."""
    if not bodies:
        return None
    case_id = str(row["id"])
    replayed = replay(bodies, str(row["workflow_id"]), is_final, defaults)
    last = len(bodies)
    stored_data = {k: v for k, v in dict(row.get("data") or {}).items() if v is not None}
    if not _same(stored_data, replayed["data"]):
        names = sorted({*stored_data, *replayed["data"]})
        differs = [n for n in names if not _same(stored_data.get(n), replayed["data"].get(n))]
        return _mismatch(case_id, last, f"its data ({', '.join(differs[:5])})")
    for column in ("workflow_version", "status", "version", "community"):
        expected = replayed[column]
        if expected is not None and row.get(column) != expected:
            return _mismatch(case_id, last, f"its {column} ({row.get(column)!r}, where its "
                                            f"events say {expected!r})")
    return None


def _mismatch(case_id: str, seq: int, what: str) -> ChainBreak:
    return ChainBreak(case_id, seq, PROJECTION_MISMATCH,
                      f"Case {case_id!r}: the case row was altered: {what} no longer "
                      f"matches its history up to event {seq}.")


def field_defaults(registry: Any) -> Defaults:
    """`Defaults` read from a workflow registry (unknown versions: none)."""
    known: dict[tuple[str, str], Mapping[str, Any]] = {}

    def defaults(workflow_id: str, version: str) -> Mapping[str, Any]:
        if (workflow_id, version) not in known:
            try:
                fields = registry.get(workflow_id, version).fields
                known[workflow_id, version] = {name: spec.default for name, spec
                                               in fields.items() if spec.default is not None}
            except Exception:
                known[workflow_id, version] = {}
        return known[workflow_id, version]

    return defaults


def finality(registry: Any) -> IsFinal:
    """`IsFinal` read from a workflow registry (unknown versions: None)."""
    known: dict[tuple[str, str, str], bool | None] = {}

    def is_final(workflow_id: str, version: str, state: str) -> bool | None:
        key = (workflow_id, version, state)
        if key not in known:
            try:
                info = registry.get(workflow_id, version).states.get(state)
                known[key] = None if info is None else bool(info.final)
            except Exception:
                known[key] = None
        return known[key]

    return is_final
