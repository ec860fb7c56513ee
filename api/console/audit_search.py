"""The auditor's search of the history: the API's filters of `/api/v1/events` (record,
person, role, workflow, step, stage, period, conditions on what was entered) read from a
query string a person's form makes, and the events found put into people's words.

Periods are whole days in China Standard Time, both ends included (a person asking for
1 to 31 March means the 31st too); the service's `until` is the next day's midnight.
Conditions are built from the chosen workflow's fields by their titles, never typed as
code; one on personal data needs the `pii` permission, as in the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from api.console.history import comment_of, values_of, what_of
from api.console.i18n import CHINA, text
from api.console.reading import Reading
from engine.audit.conditions import sensitive_anywhere, typed_condition
from engine.audit.filters import ConditionError, InputCondition
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import FieldSpec, as_text

OPERATORS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
MAX_CONDITIONS = 5


@dataclass(frozen=True)
class Condition:
    """One condition as the form holds it: a field's name, an operator code, the text."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class EventFilters:
    """The search's filters as the query string gives them (unknown values dropped)."""

    case: str | None = None
    actor: str | None = None
    role: str | None = None
    workflow: str | None = None
    step: str | None = None
    stage: str | None = None
    since: date | None = None
    until: date | None = None
    conditions: tuple[Condition, ...] = ()
    typed: tuple[InputCondition, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, params: Any, reading: Reading) -> EventFilters:
        lang = reading.lang
        errors: dict[str, str] = {}
        known = {w.id for w in reading.workflows()}
        workflow = params.get("workflow") if params.get("workflow") in known else None
        wf = reading.workflow(workflow) if workflow else None
        step = params.get("step") if wf and params.get("step") in wf.trigger_titles else None
        stage = params.get("stage") if wf and params.get("stage") in wf.states else None
        since = _day(params.get("since"), "since", errors, lang)
        until = _day(params.get("until"), "until", errors, lang)
        if since and until and until < since:
            errors["until"] = text("events.dates_inverted", lang)
        conditions: list[Condition] = []
        typed: list[InputCondition] = []
        if wf is not None:
            specs = condition_fields(wf)
            versions = reading.service.stored_workflows(wf.id)
            hidden = sensitive_anywhere(versions)
            for name, op, value in zip(params.getlist("cf"), params.getlist("co"),
                                       params.getlist("cv"), strict=False):
                value = value.strip()[:200]
                if name not in specs or op not in OPERATORS or not value:
                    continue
                at = f"cv{len(conditions)}"
                title = as_text(specs[name].title, lang, name)
                conditions.append(Condition(name, op, value))
                if name in hidden and not reading.principal.sees_pii:
                    errors[at] = text("events.sensitive_condition", lang, field=title)
                    continue
                raw = _canonical(specs[name], value, lang)
                try:
                    typed.append(typed_condition(f"{name}{OPERATORS[op]}{raw}", versions))
                except ConditionError:
                    errors[at] = text("events.bad_condition", lang, field=title)
        return cls(case=_short(params.get("case"), 200), actor=_short(params.get("actor"), 200),
                   role=_short(params.get("role"), 64), workflow=workflow, step=step,
                   stage=stage, since=since, until=until,
                   conditions=tuple(conditions[:MAX_CONDITIONS]),
                   typed=tuple(typed[:MAX_CONDITIONS]), errors=errors)

    def query(self, **extra: str) -> str:
        """The filters as a query string (for paging, exports, links); a value in `extra`
        replaces the filter of that name, an empty one drops it."""
        base = {"case": self.case, "actor": self.actor, "role": self.role,
                "workflow": self.workflow, "step": self.step, "stage": self.stage,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}
        base.update({k: v for k, v in extra.items() if k in base})
        pairs: list[tuple[str, str]] = [(k, v) for k, v in base.items() if v]
        for c in self.conditions:
            pairs += [("cf", c.field), ("co", c.op), ("cv", c.value)]
        pairs += [(k, v) for k, v in extra.items() if v and k not in base]
        return urlencode(pairs)

    @property
    def any(self) -> bool:
        return bool(self.case or self.actor or self.role or self.workflow or self.since
                    or self.until)

    def moments(self) -> tuple[datetime | None, datetime | None]:
        """The period as instants: from the first day's midnight to after the last day."""
        since = datetime.combine(self.since, time(), CHINA) if self.since else None
        until = (datetime.combine(self.until + timedelta(days=1), time(), CHINA)
                 if self.until else None)
        return since, until

    def input_conditions(self) -> list[InputCondition]:
        """The conditions, each value read as its field's declared type (as the API reads
        `input=`: `engine.audit.conditions.typed_condition`)."""
        return list(self.typed)


def condition_fields(wf: CompiledWorkflow) -> dict[str, FieldSpec]:
    """What can be entered in a workflow: its fields and every step's input."""
    specs: dict[str, FieldSpec] = dict(wf.fields)
    for t in wf.transitions:
        for name, spec in t.spec.input.items():
            specs.setdefault(name, spec)
    return specs


def _canonical(spec: FieldSpec, raw: str, lang: str) -> str:
    """What a person typed, as the condition's text writes it: yes/no as true/false, an
    enumerated value's title as the value itself."""
    if spec.type == "boolean":
        lowered = raw.lower()
        if lowered in {"是", text("form.yes", lang).lower()}:
            return "true"
        if lowered in {"否", text("form.no", lang).lower()}:
            return "false"
        return lowered
    values = spec.values or {}
    for code in values:
        titles = values[code] if isinstance(values, dict) else None
        if raw == code or (titles is not None and raw in (as_text(titles, "zh", ""),
                                                          as_text(titles, "en", ""))):
            return code
    return raw


def _day(raw: str | None, name: str, errors: dict[str, str], lang: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        errors[name] = text("events.bad_date", lang)
        return None


def _short(raw: str | None, limit: int) -> str | None:
    value = (raw or "").strip()
    return value[:limit] or None


@dataclass(frozen=True)
class EventRow:
    """One event as the auditor reads it."""

    case_id: str
    case_title: str
    workflow: str
    what: str
    detail: str | None
    actor: str
    role: str | None
    at: datetime
    comment: str | None
    values: list[tuple[str, str]]


def event_rows(reading: Reading, views: Iterable[Any],
               people: Mapping[str, str]) -> list[EventRow]:
    """The events in people's words: the record by its title, the step by its title, the
    person by the name shown on pages; what was entered masked as in the API."""
    views = list(views)
    titles: dict[str, str] = {}
    for case_id in dict.fromkeys(v.case_id for v in views):
        view = reading.service.get_case(case_id)
        public = reading.presenter.case(view, reading.principal, reading.lang)
        titles[case_id] = public.title or public.state_title
    rows = []
    for view in views:
        event = reading.presenter.event(view, reading.principal)
        wf = reading.workflow(event.workflow_id, event.workflow_version)
        what, detail = what_of(reading, wf, event)
        system = event.actor.startswith("system:")
        actor = text("event.system", reading.lang) if system else people.get(event.actor,
                                                                             event.actor)
        rows.append(EventRow(event.case_id, titles[event.case_id],
                             as_text(wf.spec.title, reading.lang, wf.id), what, detail,
                             actor, event.role, event.at, comment_of(reading, wf, event),
                             values_of(reading, wf, event, people)))
    return rows
