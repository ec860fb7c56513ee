"""Workflow definitions: list, read a version, draw it, validate and upload a new version."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.deps import Designer, Reader
from api.errors import diagnostics_json, invalid
from api.routes.common import WORKFLOW_ID, ApiRoute, problems
from api.schemas import (
    DiagnosticPublic,
    RejectedDefinitionPublic,
    RetiredPublic,
    ValidationReport,
    WorkflowPublic,
    WorkflowsPublic,
    WorkflowSummary,
)
from api.views import workflow_public
from engine.contrib import diagram
from engine.core.compiler import compile_workflow
from engine.definitions.loader import Diagnostic, load_text
from engine.definitions.registry import Definition, WorkflowRegistry
from engine.errors import DefinitionError, NotFound
from engine.language.diagnostics import render
from engine.language.spec import WorkflowSpec, as_text
from engine.service import CaseService

router = APIRouter(prefix="/workflows", tags=["workflows"], route_class=ApiRoute)

YAML_EXAMPLE = """id: leave_request
version: 1.0.0
title: {zh: 请假, en: Leave request}
fields:
  reason: {type: text, required: true}
states:
  draft: {initial: true}
  approved: {final: true, outcome: approved}
transitions:
  - trigger: approve
    from: draft
    to: approved
    roles: [caseworker]
"""
YAML_BODY = {
    "requestBody": {
        "required": True,
        "description": "A workflow definition in YAML (UTF-8).",
        "content": {
            "application/yaml": {"schema": {"type": "string"}, "example": YAML_EXAMPLE},
            "text/plain": {"schema": {"type": "string"}, "example": YAML_EXAMPLE},
        },
    }
}
Version = Annotated[str, Path(max_length=64, description="A semantic version, e.g. 1.0.0.")]


async def yaml_text(request: Request) -> str:
    """The request body as UTF-8 text (the YAML of a definition)."""
    raw = await request.body()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("body", "encoding", "the definition must be UTF-8 text",
                      "流程定义必须是 UTF-8 文本") from exc


YamlText = Annotated[str, Depends(yaml_text)]


def _registry(service: CaseService) -> WorkflowRegistry:
    return service.registry


def _summary(service: CaseService, definition: Definition, lang: str) -> WorkflowSummary:
    registry = _registry(service)
    wf = registry.get(definition.id, definition.version)
    return WorkflowSummary(
        id=definition.id, version=definition.version, title=as_text(wf.spec.title, lang),
        description=as_text(wf.spec.description, lang) or None,
        versions=[d.version for d in registry.versions(definition.id)],
    )


def _public(service: CaseService, workflow_id: str, version: str | None,
            lang: str) -> WorkflowPublic:
    registry = _registry(service)
    wf = registry.get(workflow_id, version)
    definition = registry.definition(workflow_id, wf.version)
    versions = [d.version for d in registry.versions(workflow_id)]
    return workflow_public(wf, versions, definition.source_text, lang)


@router.get("", summary="List the workflows (latest version of each)",
            response_model=WorkflowsPublic, responses=problems(401),
            description="Retired workflows are left out. `rejected` lists the files of the "
                        "workflows folder that are not loaded, each with its diagnostics.")
def list_workflows(ctx: Reader) -> WorkflowsPublic:
    registry = _registry(ctx.service)
    data = [_summary(ctx.service, d, ctx.lang) for d in registry.definitions()]
    return WorkflowsPublic(data=data, count=len(data),
                           rejected=rejected_public(registry, ctx.lang))


def rejected_public(registry: WorkflowRegistry, lang: str) -> list[RejectedDefinitionPublic]:
    """The registry's rejected files, their diagnostics in `lang`."""
    return [RejectedDefinitionPublic(
        path=r.path, diagnostics=[DiagnosticPublic(**d) for d in diagnostics_json(
            [x.in_language(lang) for x in r.diagnostics])])
        for r in registry.rejected.values()]


@router.post("/{workflow_id}/retire", summary="Retire a workflow, or one of its versions",
             response_model=RetiredPublic, responses=problems(401, 403, 404, 422),
             description="No new case starts on a retired version; cases running on it "
                         "continue. Without `version`, every version is retired and the "
                         "workflow leaves the list. Recorded in the operations log.")
def retire_workflow(
    workflow_id: WORKFLOW_ID, ctx: Designer,
    version: Annotated[str | None, Query(max_length=64,
                                         description="Only this version.")] = None,
) -> RetiredPublic:
    retired = _registry(ctx.service).retire(workflow_id, version, actor=ctx.principal.name)
    return RetiredPublic(workflow_id=workflow_id, versions=[d.version for d in retired])


@router.post("/validate", summary="Check a definition without registering it",
             response_model=ValidationReport, openapi_extra=YAML_BODY,
             responses=problems(401, 403, 413, 422),
             description="Returns every problem found, each with line and column, exactly "
                         "as `hatchery validate` prints them. Nothing is stored.")
def validate_workflow(ctx: Designer, text: YamlText) -> ValidationReport:
    diagnostics, spec = check_definition(text, ctx.lang)
    diagnostics += _registered_conflict(ctx.service, spec, text, ctx.lang)
    ok = spec is not None and not any(d["severity"] == "error" for d in diagnostics)
    return ValidationReport(
        ok=ok, workflow_id=spec.id if spec is not None else None,
        version=spec.version if spec is not None else None,
        diagnostics=[DiagnosticPublic(**d) for d in diagnostics],
    )


def check_definition(text: str, lang: str, path: str = "upload.yaml"
                     ) -> tuple[list[dict[str, Any]], WorkflowSpec | None]:
    """Load, lint and compile `text`; every diagnostic found, and the spec if it loaded."""
    try:
        result = load_text(text, path, lang)
    except RecursionError:
        return [{"path": path, "line": 1, "column": 1, "severity": "error",
                 "code": "yaml_too_deep", "message": "the YAML is nested too deeply"}], None
    diagnostics = diagnostics_json(result.diagnostics)
    if result.ok and getattr(result, "compiled", None) is None and result.spec is not None:
        try:
            compile_workflow(result.spec, text)
        except DefinitionError as exc:
            found = diagnostics_json(exc.diagnostics) or [_diagnostic(path, "invalid", exc)]
            diagnostics += found
        except ValueError as exc:  # an expression that does not compile
            diagnostics.append(_diagnostic(path, "expression", exc))
    return diagnostics, result.spec


def _registered_conflict(service: CaseService, spec: WorkflowSpec | None, text: str, lang: str,
                         path: str = "upload.yaml") -> list[dict[str, Any]]:
    """The diagnostic an upload would be refused with when its version is registered with
    other content, so that validating and uploading agree."""
    if spec is None or not _registry(service).conflict(spec.id, spec.version, text):
        return []
    found = re.search(r"(?m)^version\s*:", text)
    line = text.count("\n", 0, found.start()) + 1 if found else 1
    args = {"version": spec.version, "workflow": spec.id}
    return diagnostics_json([Diagnostic(path, line, 1, "error", "version_changed",
                                        render("version_changed", args, lang), args)])


def _diagnostic(path: str, code: str, exc: Exception) -> dict[str, Any]:
    return diagnostics_json([Diagnostic(path, 1, 1, "error", code, str(exc))])[0]


@router.post("", summary="Register a new version of a workflow", status_code=201,
             response_model=WorkflowPublic, openapi_extra=YAML_BODY,
             responses=problems(401, 403, 413, 422),
             description="Refused with the diagnostics (422) when the definition is invalid, "
                         "or when its version is already registered with other content. "
                         "Running cases keep the version they started with.")
def upload_workflow(ctx: Designer, text: YamlText) -> WorkflowPublic:
    diagnostics, spec = check_definition(text, ctx.lang)
    diagnostics += _registered_conflict(ctx.service, spec, text, ctx.lang)
    if spec is None or any(d["severity"] == "error" for d in diagnostics):
        raise DefinitionError("the workflow definition is invalid",
                              [Diagnostic(**d) for d in diagnostics])
    definition = _registry(ctx.service).register_text(
        text, f"upload by {ctx.principal.name}", actor=ctx.principal.name)
    return _public(ctx.service, definition.id, definition.version, ctx.lang)


@router.get("/{workflow_id}", summary="The latest version of a workflow, with its versions",
            response_model=WorkflowPublic, responses=problems(401, 404, 422))
def get_workflow(workflow_id: WORKFLOW_ID, ctx: Reader) -> WorkflowPublic:
    return _public(ctx.service, workflow_id, None, ctx.lang)


@router.get("/{workflow_id}/versions/{version}", summary="One version of a workflow",
            response_model=WorkflowPublic, responses=problems(401, 404, 422))
def get_workflow_version(workflow_id: WORKFLOW_ID, version: Version,
                         ctx: Reader) -> WorkflowPublic:
    return _public(ctx.service, workflow_id, version, ctx.lang)


DIAGRAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Mermaid `stateDiagram-v2` text, or an SVG image.",
          "content": {"text/plain": {"schema": {"type": "string"}},
                      "image/svg+xml": {"schema": {"type": "string"}}}},
    **problems(401, 404, 422),
}


@router.get("/{workflow_id}/diagram", summary="Draw a workflow (a case's state highlighted)",
            response_class=Response, responses=DIAGRAM_RESPONSES)
def get_diagram(
    workflow_id: WORKFLOW_ID, ctx: Reader,
    format: Annotated[Literal["mermaid", "svg"], Query(description="mermaid or svg")] = "mermaid",
    case: Annotated[str | None, Query(max_length=200,
                                      description="Highlight this case's state.")] = None,
    version: Annotated[str | None, Query(max_length=64, description="Default: the latest; "
                                         "with `case`, always the case's version.")] = None,
) -> Response:
    highlight = None
    if case is not None:
        view = ctx.case(case)
        if view.workflow_id != workflow_id:
            raise NotFound("case", case)
        version = view.workflow_version
        highlight = view.state
    wf = _registry(ctx.service).get(workflow_id, version)
    draw_lang: Literal["zh", "en"] = "zh" if ctx.lang == "zh" else "en"
    if format == "svg":
        return Response(diagram.svg(wf, lang=draw_lang, highlight=highlight),
                        media_type="image/svg+xml")
    return Response(diagram.mermaid(wf, lang=draw_lang, highlight=highlight),
                    media_type="text/plain; charset=utf-8")

