"""The web console: the pages people use, served by the API's own process at `/`.

`mount(app, settings)` adds to an app built by `api.main.create_app`: the static files
(`/static`, cached by fingerprint), the API reference at `/docs` with the process's own
Swagger UI, the security headers on every response, and the console's pages. The console
is a client of the same service door and read side as the API; it never reads or writes
the database by another path.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from api.console.assets import STATIC_PREFIX, static_files
from api.console.headers import SecurityHeaders
from api.console.templating import make_templates, render

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Add the console, the local API reference and the security headers to `app`."""
    app.state.console_templates = make_templates()
    app.mount(STATIC_PREFIX, static_files(), name="static")
    app.add_middleware(SecurityHeaders)
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def api_reference(request: Request) -> Response:
        """Swagger UI from the process's own files (closed networks have no CDN)."""
        return render(request, "apidocs.html",
                      {"title": app.title, "openapi_url": openapi_url})
