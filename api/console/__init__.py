"""The web console: the pages people use, served by the API's own process at `/`.

`mount(app, settings)` adds to an app built by `api.main.create_app`: the static files
(`/static`, cached by fingerprint), the API reference at `/docs` with the process's own
Swagger UI, the security headers on every response, and the console's pages. The console
is a client of the same service door and read side as the API; it never reads or writes
the database by another path.
"""

from __future__ import annotations

import inspect

from fastapi import APIRouter, Depends, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.console import (
    account,
    assignment,
    audit,
    audit_proofs,
    audit_stats,
    auth,
    case,
    communities,
    design,
    design_editor,
    desk,
    start,
)
from api.console.assets import STATIC_PREFIX, static_files
from api.console.i18n import request_language, text, use_language
from api.console.roles import NotForYourRoles, not_for_your_roles
from api.console.templating import make_templates, render
from engine.settings import Settings

__all__ = ["mount"]

API_PATHS = ("/api/", "/healthz", "/readyz", "/openapi.json")


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the console and the local API reference to `app` (the security headers are
    `api.front`'s, on every response)."""
    app.state.console_templates = make_templates()
    communities.install(app, settings)
    auth.install(app, settings)
    pages = APIRouter(dependencies=[Depends(use_language)], include_in_schema=False)
    pages.include_router(account.router)
    pages.include_router(desk.router)
    pages.include_router(start.router)
    pages.include_router(case.router)
    pages.include_router(assignment.router)
    pages.include_router(audit.router)
    pages.include_router(audit_proofs.router)
    pages.include_router(audit_stats.router)
    pages.include_router(design.router)
    pages.include_router(design_editor.router)
    app.include_router(pages)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        lang = str(getattr(request.state, "lang", "zh"))
        return render(request, "error.html", {"heading": text("form.csrf", lang)},
                      status=403)

    app.add_exception_handler(auth.CsrfRefused, csrf_refused)
    app.add_exception_handler(NotForYourRoles, not_for_your_roles)
    _html_for_people(app)
    app.mount(STATIC_PREFIX, static_files(), name="static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def api_reference(request: Request) -> Response:
        """Swagger UI from the process's own files (closed networks have no CDN)."""
        return render(request, "apidocs.html",
                      {"title": app.title, "openapi_url": openapi_url})


def _html_for_people(app: FastAPI) -> None:
    """A page a person can read for an unknown address asked by a browser; machine clients
    and the API keep their problem+json (the handler `api.errors` installed)."""
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found_page(request: Request, exc: Exception) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "")
        if (isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and wants_page
                and not request.url.path.startswith(API_PATHS)):
            lang = request_language(request)
            return render(request, "error.html",
                          {"heading": text("error.not_found", lang)}, status=404)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, not_found_page)
