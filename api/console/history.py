"""A record's history as a timeline people read: what happened (the step's title, from
which stage to which), who did it and in which role, what they entered (under the fields'
titles, personal data masked as in the API), their comment, and when; and, among them,
the attempts that were refused, where the person may see them (`api.console.attempts`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from api.console import attempts
from api.console.i18n import TEXTS, format_date, format_datetime, text
from api.console.reading import CaseDetail, Reading
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import FieldSpec, as_text


@dataclass(frozen=True)
class TimelineEntry:
    what: str
    detail: str | None
    actor: str
    role: str | None
    at: datetime
    comment: str | None
    values: list[tuple[str, str]] = field(default_factory=list)
    refused: str | None = None
    """Why an attempt was refused (it changed nothing); None for what happened."""


def _input_specs(wf: CompiledWorkflow, trigger: str | None) -> dict[str, FieldSpec]:
    specs = dict(wf.fields)
    for t in wf.transitions:
        if t.trigger == trigger:
            specs.update(t.spec.input)
    return specs


def what_of(reading: Reading, wf: CompiledWorkflow, event: Any) -> tuple[str, str | None]:
    lang = reading.lang
    if event.kind == "transition":
        if event.from_state == event.to_state:  # a step that records, staying in its stage
            detail = text("event.stays", lang, stage=reading.state_title(wf, event.to_state))
        else:
            detail = text("event.from_to", lang,
                          from_=reading.state_title(wf, event.from_state),
                          to=reading.state_title(wf, event.to_state))
        return reading.trigger_title(wf, event.trigger), detail
    if event.kind == "start":
        return text("event.start", lang), reading.state_title(wf, event.to_state)
    key = f"event.{event.kind}"
    return (text(key, lang) if key in TEXTS else event.kind), None


TIMER_COMMENT = re.compile(r"^timer (?P<state>[\w-]+):(?P<timer>[\w-]+) #\d+, due (?P<due>\S+)$")
"""The comment the door gives an event a timer made (`engine.service.firing`)."""


def comment_of(reading: Reading, wf: CompiledWorkflow, event: Any) -> str | None:
    """The event's comment; a timer's own note said in people's words (which deadline,
    due when), not as the door writes it for the record."""
    comment: str | None = event.comment
    found = TIMER_COMMENT.match(comment or "")
    if found is None or not event.actor.startswith("system:"):
        return comment
    known = wf.timers_of(found["state"]) if found["state"] in wf.states else []
    spec = next((t for _, t in known if t.id == found["timer"]), None)
    try:
        due = format_datetime(datetime.fromisoformat(found["due"]), reading.lang)
    except ValueError:
        return comment
    what = as_text(spec.title if spec else None, reading.lang, found["timer"])
    return text("event.timer_due", reading.lang, what=what, due=due)


def values_of(reading: Reading, wf: CompiledWorkflow, event: Any,
              people: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    lang = reading.lang
    if event.kind == "assignment":
        names = people or {}

        def who(name: Any) -> str:
            return names.get(name, name) if name else text("resp.nobody", lang)

        return [(text("event.assignee", lang), who(event.input.get("assignee"))),
                (text("event.previous", lang), who(event.input.get("previous")))]
    if event.kind == "follow_up":
        on = event.input.get("on")
        return [(text("event.follow_up_on", lang),
                 format_date(date.fromisoformat(on), lang) if on
                 else text("resp.follow_up_none", lang))]
    if event.kind in ("checklist_tick", "checklist_untick"):
        item = str(event.input.get("item", ""))
        title = item
        for info in wf.states.values():
            if item in info.spec.checklist:
                title = as_text(info.spec.checklist[item].title, lang, item)
        note = event.input.get("evidence") or event.input.get("reason")
        rows = [(text("case.checklist", lang), title)]
        if note:
            label = "case.evidence" if event.kind == "checklist_tick" else "case.untick_reason"
            rows.append((text(label, lang), str(note)))
        return rows
    if event.kind == "suspend":
        return [(text("case.suspend_reason", lang), str(event.input.get("reason", "")))]
    if event.kind in ("link", "unlink"):
        # Written on both records (direction `incoming` on the one that did not make it):
        # the other record by its title, never its id, and which side made the link.
        other = reading.link({"case_id": event.input.get("other_case_id"),
                              "relation": event.input.get("relation", ""),
                              "direction": event.input.get("direction", "outgoing")})
        said = other.title if other.title is not None else text("case.link_elsewhere", lang)
        side = "case.linked_from" if other.direction == "incoming" else "case.links_to"
        return [(text("case.links", lang), f"{said} · {text(side, lang)}")]
    if event.kind in ("overdue", "escalation", "timer_refused", "migration"):
        return system_values(reading, wf, event)
    specs = _input_specs(wf, event.trigger)
    shown = []
    for name, value in event.input.items():
        spec = specs.get(name)
        label = as_text(spec.title, lang, name) if spec else name
        shown.append((label, reading.shown(spec, value)))
    return shown


def _timer_title(reading: Reading, wf: CompiledWorkflow, key: str) -> str:
    """A timer named `state:timer` in the event, by its title."""
    state, _, timer = key.partition(":")
    known = wf.timers_of(state) if state in wf.states else []  # a state this version lacks
    spec = next((t for _, t in known if t.id == timer), None)
    return as_text(spec.title if spec else None, reading.lang, timer or key)


def _when(value: Any, lang: str) -> str:
    try:
        return format_datetime(datetime.fromisoformat(str(value)), lang)
    except ValueError:
        return str(value)


def system_values(reading: Reading, wf: CompiledWorkflow, event: Any
                  ) -> list[tuple[str, str]]:
    """What a deadline or a move to a new version recorded, in words: the deadline and
    its time, the step it could not take and why, the versions; never the keys the door
    keeps (a link is said by `values_of`)."""
    lang, found = reading.lang, event.input
    rows: list[tuple[str, str]] = []
    if "timer" in found:
        rows.append((text("event.deadline", lang), _timer_title(reading, wf, found["timer"])))
        if found.get("due_at"):
            rows.append((text("event.due_at", lang), _when(found["due_at"], lang)))
    if found.get("trigger"):
        rows.append((text("event.step", lang), reading.trigger_title(wf, found["trigger"])))
    refusal = found.get("refusal")
    if isinstance(refusal, dict) and (refusal.get("zh") or refusal.get("en")):
        said = refusal.get("zh") if lang == "zh" else refusal.get("en")
        rows.append((text("event.why", lang), str(said or refusal.get("zh") or "")))
    if found.get("reason"):
        rows.append((text("event.reason", lang), str(found["reason"])))
    if found.get("from_version") and found.get("to_version"):
        rows.append((text("event.versions", lang),
                     f"{found['from_version']} → {found['to_version']}"))
    return rows


def timeline(reading: Reading, detail: CaseDetail,
             people: Callable[[Iterable[str]], Mapping[str, str]]) -> list[TimelineEntry]:
    """The record's events, newest first, as people read them (`people` gives the names
    shown for sign-in names; a token's name is shown as it is)."""
    wf = detail.workflow
    views = reading.service.history(detail.case.id)
    tried = attempts.read(reading, detail.case.id, detail.case.created_at)
    shown = people([*(view.actor for view in views), *(str(t["actor"]) for t in tried),
                    *(str(view.input.get(k)) for view in views if view.kind == "assignment"
                      for k in ("assignee", "previous") if view.input.get(k))])
    entries = []
    for view in views:
        event = reading.presenter.event(view, reading.principal)
        version_wf = wf if event.workflow_version == wf.version else reading.workflow(
            event.workflow_id, event.workflow_version)
        what, extra = what_of(reading, version_wf, event)
        system = event.actor.startswith("system:")
        actor = text("event.system", reading.lang) if system else shown.get(event.actor,
                                                                             event.actor)
        entries.append(TimelineEntry(what, extra, actor, event.role, event.at,
                                     comment_of(reading, version_wf, event),
                                     values_of(reading, version_wf, event, shown)))
    for attempt in tried:
        what, why = attempts.described(reading, wf, detail.case.id, attempt)
        actor = str(attempt["actor"])
        entries.append(TimelineEntry(what, None, shown.get(actor, actor), None, attempt["at"],
                                     None, refused=why))
    # In time order; at one same instant, a refusal before the changes (it wrote nothing,
    # so what was done then came after it).
    entries.sort(key=lambda entry: (entry.at, entry.refused is None))
    entries.reverse()
    return entries
