"""The designer's editor: paste or upload a definition, see every problem at its line and
column (in the person's language) and the diagram as it would be drawn, before anything
is stored; then store it as a new version.

The check is the API's own (`api.routes.workflows.check_definition` and the registered-
version conflict), so the editor, `POST /api/v1/workflows/validate` and `hatchery
validate` agree. Storing checks again, registers the text through the registry and keeps
the upload in the operations log as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import CheckedForm, Desk
from api.console.design import DesignDesk
from api.console.diagrams import draft_diagram
from api.console.i18n import text
from api.console.reading import Reading
from api.console.templating import render
from api.routes.workflows import _registered_conflict, check_definition
from engine.errors import HatcheryError
from engine.language.spec import as_text
from engine.store.operations import record

router = APIRouter(prefix="/design/editor")
MAX_BYTES = 1_000_000
PATH = "流程定义.yaml"


@dataclass(frozen=True)
class Checked:
    """What the check found: every diagnostic, the lines they point at, the spec if any."""

    diagnostics: list[dict[str, Any]]
    spec: Any

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [d for d in self.diagnostics if d["severity"] == "error"]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors

    @property
    def marked(self) -> dict[int, str]:
        """Line number -> the worst severity found on it."""
        found: dict[int, str] = {}
        for d in self.diagnostics:
            if found.get(d["line"]) != "error":
                found[d["line"]] = d["severity"]
        return found


def check(reading: Reading, source: str) -> Checked:
    diagnostics, spec = check_definition(source, reading.lang, PATH)
    diagnostics += _registered_conflict(reading.service, spec, source, reading.lang, PATH)
    diagnostics.sort(key=lambda d: (d["line"], d["column"]))
    return Checked(diagnostics, spec)


@router.get("")
def editor(request: Request, desk: DesignDesk) -> Response:
    reading = Reading.of(request, desk)
    source = ""
    origin = request.query_params.get("from")
    if origin:
        registry = reading.service.registry
        try:
            version = request.query_params.get("version") or registry.latest_version(origin)
            source = registry.definition(origin, version).source_text
        except HatcheryError:
            source = ""
    return render(request, "design_editor.html", {"section": "design.editor",
                                                  "source": source, "errors": {}})


async def _source(form: Any, lang: str) -> tuple[str, str | None]:
    """The definition's text (an uploaded file wins over the text box) or why not."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_BYTES + 1)
        try:
            return raw[:MAX_BYTES].decode("utf-8-sig"), None
        except UnicodeDecodeError:
            return "", text("editor.not_utf8", lang)
    typed = form.get("source")
    source = typed.replace("\r\n", "\n")[:MAX_BYTES] if isinstance(typed, str) else ""
    return source, None if source.strip() else text("editor.empty", lang)


@router.post("")
async def submit(request: Request, desk: DesignDesk, form: CheckedForm) -> Response:
    source, problem = await _source(form, desk.lang)
    if problem is not None:
        return render(request, "design_editor.html", {
            "section": "design.editor", "source": source, "errors": {"source": problem}},
            status=422)
    store = form.get("action") == "store"
    return await run_in_threadpool(_submit, request, desk, source, store)


def _submit(request: Request, desk: Desk, source: str, store: bool) -> Response:
    reading = Reading.of(request, desk)
    found = check(reading, source)
    if store and found.ok:
        return _store(request, desk, reading, source)
    lang = desk.lang
    context = {
        "section": "design.editor", "source": source, "checked": found, "errors": {},
        "lines": source.split("\n"),
        "diagram": draft_diagram(found.spec, lang) if found.spec is not None else None,
        "title": as_text(found.spec.title, lang, found.spec.id) if found.spec else None,
    }
    return render(request, "design_editor.html", context,
                  status=200 if found.ok else 422)


def _store(request: Request, desk: Desk, reading: Reading, source: str) -> Response:
    service = reading.service
    definition = service.registry.register_text(source, f"console upload by "
                                                        f"{desk.principal.name}")
    record(service.engine, actor=desk.principal.name, action="definition_upload",
           at=service.clock.now(), target=definition.id,
           detail={"version": definition.version, "content_hash": definition.content_hash,
                   "console": True})
    return RedirectResponse(f"/design/workflows/{quote(definition.id)}?version="
                            f"{quote(definition.version)}&stored=1", status_code=303)
