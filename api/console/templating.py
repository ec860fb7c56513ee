"""Rendering pages: Jinja2 templates, with `jinja2-fragments` so that an htmx request gets
one block of the same template (one source for each piece of markup).

Every template receives `lang`, `t(key, **args)` for the catalogue's words, `static(path)`
for fingerprinted asset URLs, `date`/`datetime` filters in the person's language,
`community_name(path)` and `community_title(path)` (a community by its name, never its
path), and the `desk` context (who is signed in, the CSRF token) that the base layout needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response

from api.console.assets import static_url
from api.console.communities import directory
from api.console.i18n import (
    bilingual,
    format_date,
    format_datetime,
    request_language,
    role_title,
    text,
)
from api.console.navigation import navigation_for

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def make_templates() -> Jinja2Blocks:
    """The template set with the console's globals and filters (built once per app)."""
    templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.globals["static"] = static_url
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200, block: str | None = None,
           headers: Mapping[str, str] | None = None) -> Response:
    """A page (or, with `block`, one block of it) in the person's language."""
    templates: Jinja2Blocks = request.app.state.console_templates
    lang = str(getattr(request.state, "lang", None) or request_language(request))
    desk = getattr(request.state, "desk", None)
    communities = directory(request)
    values: dict[str, Any] = {
        "request": request, "lang": lang, "t": partial(_text, lang),
        "date": partial(_date, lang), "datetime": partial(_datetime, lang),
        "title_of": partial(_title, lang), "role": partial(_role, lang),
        "community_name": lambda path: communities.name(str(path), lang),
        "community_title": lambda path: communities.full_name(str(path), lang),
        "desk": desk, "navigation": navigation_for(request, desk.principal) if desk else [],
    }
    values.update(context or {})
    response: Response
    if block is not None:
        response = templates.TemplateResponse(request, name, values, status_code=status,
                                              block_name=block)
    else:
        response = templates.TemplateResponse(request, name, values, status_code=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _text(lang: str, key: str, **args: object) -> str:
    return text(key, lang, **args)


def _title(lang: str, values: Any, fallback: str = "") -> str:
    return bilingual(values, lang, fallback)


def _role(lang: str, role: str | None) -> str:
    return role_title(role, lang)


def _date(lang: str, value: Any) -> str:
    return format_date(value, lang)


def _datetime(lang: str, value: Any) -> str:
    return format_datetime(value, lang)


__all__ = ["make_templates", "render"]
