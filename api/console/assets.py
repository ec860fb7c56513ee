"""The console's static files (our CSS and scripts, vendored htmx and Swagger UI), served by
the process itself: government networks are often closed, so nothing comes from a CDN.

Every URL a page writes carries the file's content hash (`/static/css/console.css?v=1a2b3c4d`),
so such a response may be cached for a year (`immutable`): a new release changes the hash
and therefore the URL. A request without the hash is revalidated each time (`no-cache`
with the ETag StaticFiles already sends).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@lru_cache(maxsize=256)
def fingerprint(relative: str) -> str:
    """The first 10 hex digits of the sha256 of a static file (files never change while
    the process runs: they ship with the package)."""
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise FileNotFoundError(relative)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def static_url(relative: str) -> str:
    """The cache-busting URL of a static file, for templates."""
    return f"{STATIC_PREFIX}/{relative}?v={fingerprint(relative)}"


class CachedStatic(StaticFiles):
    """StaticFiles with cache headers: a year for fingerprinted URLs, revalidation otherwise."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"")
            fingerprinted = any(part.startswith(b"v=") for part in query.split(b"&"))
            response.headers["Cache-Control"] = LONG_CACHE if fingerprinted else REVALIDATE
        return response


def static_files() -> CachedStatic:
    """The mountable app serving `api/console/static/`."""
    return CachedStatic(directory=STATIC_DIR)
