"""The API's first look at what a client sends: values nothing downstream could store, hash
or compare are refused here with a located 422, before any of them reaches the service.

- `StrictJsonRoute`: JSON bodies are parsed once, strictly (no NaN or Infinity, numbers
  finite and integers within 64 bits, no NUL or lone surrogate in keys or strings); the
  parsed body is what FastAPI then validates, so nothing is parsed twice.
- `request_line_problem`: NUL in the path or in a query parameter is refused for every
  route (the console's too), by `api.front`.
- `Instant`: the type of every time in a query: a value without a zone is UTC, the year is
  1800-2999, and its conversion to UTC cannot overflow.

The checks themselves are pure and live in `engine.language.untrusted`.
"""

from __future__ import annotations

import email.message
import functools
import json
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import AfterValidator
from starlette.responses import Response
from starlette.types import Scope, Send

from api.problems import (
    MESSAGES,
    PROBLEM_MEDIA_TYPE,
    ApiProblem,
    problem_body,
    scope_language,
)
from engine.language import untrusted

MAX_LISTED = 10
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@functools.lru_cache(maxsize=256)
def _json_content(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this type as JSON (no type at all included).
    Remembered per header value: clients send the same few, and parsing one with
    `email.message` costs more than the rest of the check."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def body_problem(flaws: list[untrusted.Flaw]) -> ApiProblem:
    """422 listing each flawed value of a body by its path."""
    errors: list[Mapping[str, Any]] = [
        {"field": f.where(), "in": "body", "code": f.code, "en": f.en, "zh": f.zh}
        for f in flaws[:MAX_LISTED]]
    first = errors[0]
    return ApiProblem(422, "validation_failed",
                      f"the request is not valid: {first['field']}: {first['en']}",
                      f"请求无效：{first['field']}：{first['zh']}", errors=errors)


async def check_json_body(request: Request) -> None:
    """Parse a JSON body strictly and keep the result for FastAPI; refuse a flawed one."""
    if request.method not in _CHANGING or not _json_content(request.headers.get("content-type")):
        return
    raw = await request.body()
    if not raw:
        return
    try:
        value, flaws = untrusted.loads(raw)
    except (ValueError, RecursionError):
        return  # not JSON: FastAPI reports it as it always does
    if flaws:
        raise body_problem(flaws)
    request._json = value  # what Request.json() returns from now on


class StrictJsonRoute(APIRoute):
    """An API route whose JSON body is checked by `check_json_body` first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = self.checked_handler()

        async def strict(request: Request) -> Response:
            await check_json_body(request)
            return await handler(request)

        return strict

    def checked_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """What answers once the body passed the check: FastAPI's handler."""
        return super().get_route_handler()


def _query_flaw(query: bytes) -> tuple[str, str] | None:
    if b"%00" not in query.lower() and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            code = untrusted.text_flaw(text)
            if code:
                return name, code
    return None


def request_line_problem(scope: Scope) -> tuple[str, str, str] | None:
    """(where, name, code) of a NUL in the path or in a query parameter, or None: a 422
    for every route (the console's too), before any runs (`api.front`)."""
    code = untrusted.text_flaw(scope.get("path", ""))
    if code:
        return ("path", "path", code)
    query = _query_flaw(scope.get("query_string", b""))
    if query:
        return ("query", untrusted.Flaw((query[0],), query[1]).where(), query[1])
    return None


async def send_request_line_problem(send: Send, scope: Scope, where: str, name: str,
                                    code: str) -> None:
    """The 422 problem of `request_line_problem`'s finding."""
    lang = scope_language(scope)
    message = untrusted.MESSAGES.text(code, lang)
    detail = MESSAGES.text("validation_failed", lang, fields=f"{name}: {message}")
    body = problem_body(422, "validation_failed", detail,
                        lang, None, {"errors": [{"field": name, "in": where, "code": code,
                                                 "message": message}]})
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": 422, "headers": [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(raw)).encode()), (b"content-language", lang.encode())]})
    await send({"type": "http.response.body", "body": raw})


def _instant(value: datetime) -> datetime:
    moment = untrusted.utc_instant(value)
    if moment is None:
        raise ValueError(untrusted.MESSAGES["date_out_of_range"].en)
    return moment


Instant = Annotated[datetime, AfterValidator(_instant)]
"""A time in a query: UTC, years 1800-2999 (422 naming the parameter otherwise)."""
