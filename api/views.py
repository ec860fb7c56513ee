"""Engine views -> response models: labels in the caller's language, personal data masked.

Masking happens here and only here, so no route can forget it: every case, event and fire
result leaves through a `Presenter`. A field is sensitive when its workflow version marks
it so, as a case field or as any transition's input; its value is masked unless the
caller's token has the `pii` permission.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from api.schemas import (
    ActionPublic,
    CasePublic,
    EventPublic,
    FieldPublic,
    FireResultPublic,
    RefusalPublic,
    StatePublic,
    TransitionPublic,
    WorkflowPublic,
)
from api.security import Principal
from engine.audit.masking import mask_fields, mask_value, sensitive_names
from engine.core.compiler import CompiledWorkflow
from engine.core.decision import Action
from engine.language.spec import FieldSpec, as_text
from engine.language.texts import value_title
from engine.service.views import CaseView, EventView, FireResult

WorkflowLookup = Callable[[str, str], CompiledWorkflow | None]


def field_schema(spec: FieldSpec, lang: str) -> dict[str, Any]:
    """JSON Schema of one typed field, for a client to render a form."""
    kind = spec.type
    schema: dict[str, Any]
    if kind in ("string", "text"):
        schema = {"type": "string"}
    elif kind == "integer":
        schema = {"type": "integer"}
    elif kind == "number":
        schema = {"type": "number"}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif kind == "enum":
        schema = {"type": "string", "enum": spec.value_ids,
                  "x-enum-titles": [value_title(spec, v, lang) for v in spec.value_ids]}
    elif kind == "list":
        item = field_schema(FieldSpec(type=spec.items or "string"), lang)
        if spec.values:
            item["enum"] = spec.value_ids
            item["x-enum-titles"] = [value_title(spec, v, lang) for v in spec.value_ids]
        schema = {"type": "array", "items": item}
    else:
        schema = {"type": "string", "minLength": 1}
        if spec.workflow:
            schema["x-workflow"] = spec.workflow
    if kind in ("integer", "number"):
        if spec.min is not None:
            schema["minimum"] = spec.min
        if spec.max is not None:
            schema["maximum"] = spec.max
    if kind == "list":
        if spec.min is not None:
            schema["minItems"] = int(spec.min)
        if spec.max is not None:
            schema["maxItems"] = int(spec.max)
    if kind in ("string", "text"):
        if spec.min_length is not None:
            schema["minLength"] = spec.min_length
        if spec.max_length is not None:
            schema["maxLength"] = spec.max_length
        if spec.pattern is not None:
            schema["pattern"] = spec.pattern
    if spec.title is not None:
        schema["title"] = as_text(spec.title, lang)
    if spec.description is not None:
        schema["description"] = as_text(spec.description, lang)
    if spec.default is not None:
        schema["default"] = spec.default
    if spec.sensitive:
        schema["x-sensitive"] = True
    return schema


def input_schema(fields: Mapping[str, FieldSpec], lang: str) -> dict[str, Any]:
    """JSON Schema of a transition's input (an object with its typed fields)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, spec in fields.items() if spec.required],
        "properties": {name: field_schema(spec, lang) for name, spec in fields.items()},
    }


def field_public(name: str, spec: FieldSpec, lang: str) -> FieldPublic:
    titles = {v: value_title(spec, v, lang) for v in spec.value_ids} if spec.values else None
    return FieldPublic(type=spec.type, title=as_text(spec.title, lang, name),
                       description=as_text(spec.description, lang) or None,
                       required=spec.required, sensitive=spec.sensitive, default=spec.default,
                       values=spec.value_ids if spec.values else None, value_titles=titles)


def value_titles(wf: CompiledWorkflow | None, data: Mapping[str, Any], lang: str
                 ) -> dict[str, str]:
    """The enumerated values of `data` by their titles (what a person reads)."""
    if wf is None:
        return {}
    return {name: wf.value_title(name, value, lang) for name, value in data.items()
            if name in wf.fields and wf.fields[name].values and value is not None}


def workflow_public(wf: CompiledWorkflow, versions: list[str], source_text: str,
                    lang: str) -> WorkflowPublic:
    spec = wf.spec
    return WorkflowPublic(
        id=wf.id, version=wf.version, title=wf.text(spec.title, lang),
        description=wf.text(spec.description, lang) or None, versions=versions,
        content_hash=wf.content_hash, roles=list(spec.roles), title_field=spec.title_field,
        fields={n: field_public(n, f, lang) for n, f in spec.fields.items()},
        states=[StatePublic(id=s.id, title=wf.text(s.spec.title, lang, s.id),
                            description=wf.text(s.spec.description, lang) or None,
                            parent=s.parent, initial=s.spec.initial, final=s.spec.final,
                            outcome=s.spec.outcome, checklist=list(s.spec.checklist),
                            checklist_titles={i: wf.text(c.title, lang, i)
                                              for i, c in s.spec.checklist.items()})
                for s in wf.states.values()],
        transitions=[TransitionPublic(trigger=t.trigger,
                                      title=wf.text(t.spec.title, lang, t.trigger),
                                      sources=t.spec.sources, to=t.spec.to,
                                      roles=list(t.spec.roles), automatic=t.spec.automatic,
                                      input={n: field_public(n, f, lang)
                                             for n, f in t.spec.input.items()})
                     for t in wf.transitions],
        source_text=source_text,
    )


class Presenter:
    """Turns the service's views into response models for one caller."""

    def __init__(self, lookup: WorkflowLookup) -> None:
        self._lookup = lookup
        self._sensitive: dict[tuple[str, str], frozenset[str]] = {}
        self._lock = threading.Lock()

    def workflow(self, workflow_id: str, version: str) -> CompiledWorkflow | None:
        return self._lookup(workflow_id, version)

    def sensitive(self, workflow_id: str, version: str) -> frozenset[str] | None:
        """Sensitive names of a workflow version (cached: a version never changes), or None
        when the version cannot be read now, meaning: mask every field (fail closed)."""
        key = (workflow_id, version)
        found = self._sensitive.get(key)
        if found is None:
            wf = self._lookup(workflow_id, version)
            if wf is None:
                return None
            found = sensitive_names(wf)
            with self._lock:
                self._sensitive[key] = found
        return found

    @staticmethod
    def _masked(values: Mapping[str, Any], names: frozenset[str] | None) -> dict[str, Any]:
        if names is None:
            return {k: mask_value(v) for k, v in values.items()}
        return mask_fields(values, names)

    def state_title(self, workflow_id: str, version: str, state: str, lang: str) -> str:
        wf = self._lookup(workflow_id, version)
        info = wf.states.get(state) if wf is not None else None
        if wf is None or info is None:
            return state
        return wf.text(info.spec.title, lang, state)

    def case(self, view: CaseView, principal: Principal, lang: str) -> CasePublic:
        data = dict(view.data)
        title = view.title
        if not principal.sees_pii:
            names = self.sensitive(view.workflow_id, view.workflow_version)
            data = self._masked(data, names)
            wf = self._lookup(view.workflow_id, view.workflow_version)
            title_field = wf.spec.title_field if wf is not None else None
            if title is not None and (names is None or title_field in names):
                title = mask_value(title)
        return CasePublic(
            id=view.id, workflow_id=view.workflow_id, workflow_version=view.workflow_version,
            state=view.state,
            state_title=self.state_title(view.workflow_id, view.workflow_version, view.state,
                                         lang),
            status=view.status, outcome=view.outcome, data=data,
            value_titles=value_titles(self._lookup(view.workflow_id, view.workflow_version),
                                      data, lang),
            version=view.version,
            community=view.community, title=title, priority=view.priority,
            overdue=bool(view.overdue), entered_at=view.entered_at, created_at=view.created_at,
            updated_at=view.updated_at, checklist=dict(view.checklist or {}),
            links=[link for link in view.links or []
                   if principal.sees(link.get("community") or "")],
            assignee=getattr(view, "assignee", None),
            follow_up_on=getattr(view, "follow_up_on", None),
            escalated=getattr(view, "escalated_at", None) is not None,
            escalated_at=getattr(view, "escalated_at", None),
        )

    def event(self, view: EventView, principal: Principal) -> EventPublic:
        values = dict(view.input or {})
        changes = dict(getattr(view, "changes", None) or {})
        if not principal.sees_pii:
            names = self.sensitive(view.workflow_id, view.workflow_version)
            values, changes = self._masked(values, names), self._masked(changes, names)
        return EventPublic(
            case_id=view.case_id, seq=view.seq, kind=view.kind, workflow_id=view.workflow_id,
            workflow_version=view.workflow_version, trigger=view.trigger,
            from_state=view.from_state, to_state=view.to_state, actor=view.actor,
            role=view.role, input=values, changes=changes, comment=view.comment, at=view.at,
            prev_hash=view.prev_hash, hash=view.hash,
        )

    def fire(self, result: FireResult, principal: Principal, lang: str) -> FireResultPublic:
        return FireResultPublic(
            case=self.case(result.case, principal, lang),
            event=self.event(result.event, principal),
            automatic=[self.event(e, principal) for e in result.automatic],
            replayed=bool(result.replayed),
        )

    def action(self, action: Action, wf: CompiledWorkflow | None, lang: str) -> ActionPublic:
        """One of `CaseService.actions`: its title, where it leads, why not, its form."""
        t = action.transition
        if t is None:  # `CaseService.actions` offers only triggers that lead somewhere
            raise ValueError(f"'{action.trigger}' has no transition from the case's stage")
        spec = t.spec
        title = wf.text(spec.title, lang, action.trigger) if wf else as_text(
            spec.title, lang, action.trigger)
        to_title = None
        if spec.to is not None:
            target = wf.states.get(spec.to) if wf is not None else None
            to_title = (wf.text(target.spec.title, lang, spec.to)
                        if wf is not None and target is not None else spec.to)
        refusal = None
        if action.refusal is not None:
            refusal = RefusalPublic(code=action.refusal.code,
                                    message=action.refusal.message(lang),
                                    details=_plain(action.refusal.details))
        return ActionPublic(
            trigger=action.trigger, title=title,
            description=as_text(spec.description, lang) or None, allowed=bool(action.allowed),
            refusal=refusal, to=spec.to, to_title=to_title,
            input_schema=input_schema(spec.input, lang),
        )

def _plain(details: Mapping[str, Any]) -> dict[str, Any]:
    """Refusal details as JSON values (tuples and sets become lists)."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, tuple | set | frozenset):
            value = list(value)
        out[key] = value
    return out
