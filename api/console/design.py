"""The designer's desk: the workflows and their versions, each with its diagram, its
parameters (with the values in force in a community, set there by those allowed), and the
rule behind each condition and deadline.

For process designers and administrators. Parameters are set through the service
(`CaseService.set_parameter`, which checks the value against the parameter's declared
type) for a community in the person's scope, and each change is kept in the operations
log.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from api.console.auth import CheckedForm, Desk
from api.console.communities import choices, directory
from api.console.design_rules import guards, rule_kind, timers
from api.console.diagrams import workflow_diagram
from api.console.i18n import text
from api.console.reading import Reading
from api.console.roles import DESIGN_ROLES, desk_for
from api.console.templating import render
from engine.access.principals import valid_community
from engine.errors import HatcheryError, NotFound, Refused
from engine.language.spec import ParameterSpec, as_text
from engine.store import repository as repo
from engine.store.db import read_connection
from engine.store.operations import record
from engine.timers.calendar import DurationError, parse_duration

router = APIRouter(prefix="/design")
DesignDesk = Annotated[Desk, Depends(desk_for(DESIGN_ROLES, "design.only"))]


@router.get("")
def workflows(request: Request, desk: DesignDesk) -> Response:
    reading = Reading.of(request, desk)
    registry = reading.service.registry
    rows = []
    for definition in registry.definitions():
        wf = registry.get(definition.id, definition.version)
        rows.append({"id": wf.id, "title": as_text(wf.spec.title, desk.lang, wf.id),
                     "description": as_text(wf.spec.description, desk.lang) or None,
                     "version": wf.version,
                     "versions": [d.version for d in registry.versions(wf.id)]})
    rows.sort(key=lambda r: r["title"])
    return render(request, "design_workflows.html", {"section": "design.workflows",
                                                     "rows": rows})


def _community(desk: Desk, raw: str | None) -> str | None:
    """The community asked for, if it is a community path in the person's scope ('' is
    every community, for those whose scope is everything)."""
    chosen = (raw or "").strip().strip("/")
    if chosen == "":
        return "" if desk.principal.community == "*" else None
    return chosen if valid_community(chosen) and desk.principal.sees(chosen) else None


def _default_community(desk: Desk) -> str:
    return "" if desk.principal.community == "*" else desk.principal.community


def _community_options(request: Request, desk: Desk, community: str
                       ) -> list[tuple[str, str]]:
    """The communities whose parameters may be shown, by name ('' is every community, for
    those whose scope is everything); empty when the directory knows none in scope (the
    path is then typed)."""
    scope = desk.principal.community
    listed = choices(directory(request), scope, desk.lang, community or None)
    if listed and scope == "*":
        listed.insert(0, ("", text("param.everywhere", desk.lang)))
    return listed


def parameter_rows(reading: Reading, wf: Any, community: str) -> list[dict[str, Any]]:
    """Each parameter: its title, type, default and the value in force in `community`."""
    with read_connection(reading.service.engine) as connection:
        overrides = repo.parameter_overrides(connection, wf.id, community)
    rows = []
    for name, spec in wf.spec.parameters.items():
        in_force = overrides.get(name, spec.default)
        rows.append({"name": name, "title": as_text(spec.title, reading.lang, name),
                     "description": as_text(spec.description, reading.lang) or None,
                     "type": text(f"ptype.{spec.type}", reading.lang),
                     "bounds": _bounds(spec), "default": _shown(spec, spec.default,
                                                                reading.lang),
                     "in_force": _shown(spec, in_force, reading.lang),
                     "raw": "true" if in_force is True else "false" if in_force is False
                     else str(in_force),
                     "overridden": name in overrides, "spec": spec})
    return rows


def _bounds(spec: ParameterSpec) -> str | None:
    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else str(value)

    parts = ([f"≥ {number(spec.min)}"] if spec.min is not None else []) + (
        [f"≤ {number(spec.max)}"] if spec.max is not None else [])
    return "，".join(parts) or None


_UNITS = (("years", "年", "year"), ("months", "个月", "month"), ("weeks", "周", "week"),
          ("days", "天", "day"), ("hours", "小时", "hour"), ("minutes", "分钟", "minute"))


def _shown(spec: ParameterSpec, value: Any, lang: str) -> str:
    if spec.type == "duration" and isinstance(value, str):
        try:
            duration = parse_duration(value)
        except DurationError:
            return value
        parts = [(getattr(duration, attr), zh, en) for attr, zh, en in _UNITS
                 if getattr(duration, attr, 0)]
        if lang == "zh":
            return "".join(f"{n}{zh}" for n, zh, _ in parts) or value
        return " ".join(f"{n} {en}{'s' if n != 1 else ''}" for n, _, en in parts) or value
    if isinstance(value, bool):
        return text("form.yes" if value else "form.no", lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@router.get("/workflows/{workflow_id}")
def workflow(request: Request, workflow_id: str, desk: DesignDesk) -> Response:
    return _workflow_page(request, desk, workflow_id)


def _workflow_page(request: Request, desk: Desk, workflow_id: str, *, status: int = 200,
                   **extra: Any) -> Response:
    reading = Reading.of(request, desk)
    registry = reading.service.registry
    version = request.query_params.get("version") or None
    try:
        wf = registry.get(workflow_id, version)
    except (NotFound, HatcheryError):
        return render(request, "error.html", {"heading": text("error.not_found", desk.lang)},
                      status=404)
    community = extra.pop("community", None)
    if community is None:
        community = _community(desk, request.query_params.get("community"))
    if community is None:
        community = _default_community(desk)
    lang = desk.lang
    context = {
        "section": "design.workflows", "wf": wf,
        "title": as_text(wf.spec.title, lang, wf.id),
        "description": as_text(wf.spec.description, lang) or None,
        "source": wf.spec.source, "diagram": workflow_diagram(wf, lang),
        "versions": [d.version for d in registry.versions(wf.id)],
        "parameters": parameter_rows(reading, wf, community), "community": community,
        "community_shown": (directory(request).full_name(community, lang) if community
                            else text("param.everywhere", lang)),
        "community_options": _community_options(request, desk, community),
        "guards": guards(wf, lang), "timers": timers(wf, lang),
        "rule_kind": lambda rule: rule_kind(rule, lang), "errors": {},
        "notice": _notice(request, lang, as_text(wf.spec.title, lang, wf.id), wf.version),
        **extra}
    return render(request, "design_workflow.html", context, status=status)


def _notice(request: Request, lang: str, title: str, version: str) -> str | None:
    if request.query_params.get("stored") == "1":
        return text("editor.stored", lang, title=title, version=version)
    saved = request.query_params.get("saved")
    return text("param.saved", lang, name=saved[:64]) if saved else None


@router.get("/workflows/{workflow_id}/source")
def source(request: Request, workflow_id: str, desk: DesignDesk) -> Response:
    """The YAML of a version, to download or to start a new version from."""
    registry = Reading.of(request, desk).service.registry
    version = request.query_params.get("version") or None
    try:
        definition = registry.definition(workflow_id,
                                         version or registry.latest_version(workflow_id))
    except HatcheryError:
        return render(request, "error.html", {"heading": text("error.not_found", desk.lang)},
                      status=404)
    return PlainTextResponse(definition.source_text, media_type="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="{definition.id}-'
                               f'{definition.version}.yaml"'})


@router.post("/workflows/{workflow_id}/parameters")
async def set_parameter(request: Request, workflow_id: str, desk: DesignDesk,
                        form: CheckedForm) -> Response:
    return await run_in_threadpool(_set_parameter, request, workflow_id, desk, form)


def _set_parameter(request: Request, workflow_id: str, desk: Desk, form: Any) -> Response:
    reading = Reading.of(request, desk)
    service = reading.service
    lang = desk.lang
    try:
        wf = service.registry.get(workflow_id)
    except HatcheryError:
        return render(request, "error.html", {"heading": text("error.not_found", lang)},
                      status=404)
    name = str(form.get("name") or "")
    spec = wf.spec.parameters.get(name)
    community = _community(desk, str(form.get("community") or ""))
    if spec is None:
        return render(request, "error.html", {"heading": text("error.not_found", lang)},
                      status=404)
    if community is None:
        return _workflow_page(request, desk, workflow_id, status=403,
                              errors={f"param-{name}": text("param.out_of_scope", lang)})
    raw = str(form.get("value") or "").strip()[:200]
    value = _typed(spec, raw)
    try:
        service.set_parameter(workflow_id, name, value, community=community)
    except HatcheryError as error:
        why = error.refusal.message(lang) if isinstance(error, Refused) else str(error)
        return _workflow_page(request, desk, workflow_id, status=422, community=community,
                              errors={f"param-{name}": text("param.refused", lang, why=why)})
    record(service.engine, actor=desk.principal.name, action="parameter_set",
           at=service.clock.now(), target=workflow_id, community=community or None,
           detail={"name": name, "value": value, "workflow": workflow_id})
    return RedirectResponse(f"/design/workflows/{workflow_id}?community={quote(community)}"
                            f"&saved={quote(name)}#parameters", status_code=303)


def _typed(spec: ParameterSpec, raw: str) -> Any:
    """The typed text as the parameter's type reads it (left as text when it does not
    read, for the service to refuse with its reason)."""
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if spec.type in ("integer", "number"):
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if spec.type == "integer" and number.is_integer() else number
    return raw
