"""Problem details (RFC 9457) as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.base import CASE_ID_EXAMPLE, Public


class FieldError(Public):
    field: str = Field(description="The field, header or query parameter at fault.")
    in_: str = Field(default="body", alias="in", description="body, query, path or header")
    code: str = Field(description="Stable machine code of the problem.")
    message: str = Field(description="Human message in the caller's language.")

    model_config = ConfigDict(populate_by_name=True)


class DiagnosticPublic(Public):
    """One problem in a workflow definition, located as the command line reports it."""

    path: str
    line: int
    column: int
    severity: Literal["error", "warning"] | str
    code: str
    message: str

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "path": "social_org_incubation.yaml", "line": 12, "column": 5, "severity": "error",
        "code": "unknown_state", "message": "transition 'select' goes to unknown state 'x'"}]})


class Problem(Public):
    """RFC 9457 problem details; `code` is stable, `title`/`detail` follow Accept-Language."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="Per-field problems (422).")
    current_version: int | None = Field(default=None, description="The case's version (409, 412).")
    required_roles: list[str] | None = Field(default=None, description="Roles that would do (403).")
    missing: list[str] | None = Field(default=None, description="Checklist items not ticked.")
    current_state: str | None = None
    diagnostics: list[DiagnosticPublic] | None = None

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "urn:hatchery:problem:conflict", "title": "Conflict", "status": 409,
        "detail": "the case is at version 4, not 3: read it again and retry",
        "code": "conflict", "instance": f"/api/v1/cases/{CASE_ID_EXAMPLE}/events",
        "current_version": 4}]})
