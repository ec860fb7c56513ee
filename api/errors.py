"""The only place errors become HTTP: RFC 9457 problem details in the caller's language
(the problem document and its vocabulary are `api.problems`; this module maps each error
to one, and holds the handlers; the body limit and the catch-all are `api.front`'s).

Every error response is `application/problem+json`:

    {"type": "urn:hatchery:problem:conflict", "title": "Version conflict", "status": 409,
     "detail": "case ... is at version 4, not 3: read it again and retry",
     "code": "conflict", "instance": "/api/v1/cases/.../events", "current_version": 4}

`code` is the stable machine name a client branches on; `title` and `detail` follow
`Accept-Language` (zh or en). 422 responses carry per-field `errors`.

How errors map (nothing else in `api/` picks a status):

    ApiProblem                 the status it names (401, 403, 404, 412, 413, 422)
    engine NotFound            404  (also for cases outside the caller's scope)
    engine Refused             403 role_missing; 409 when the case's state forbids the
                               trigger; 422 for input, guard and other refusals
    engine Conflict            409  with current_version
    engine DefinitionError     422  with the diagnostics, each located by line and column
    engine StoreUnavailable    503  with Retry-After
    request validation         422  with per-field errors (values are never echoed back)
    unknown route / method     404 / 405
    anything else              500  logged by type and stack only, never by message (a
                               message may quote personal data); the caller sees no trace
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.problems import (
    FORBIDDEN_REFUSALS,
    MESSAGES,
    PROBLEM_MEDIA_TYPE,
    PYDANTIC_ZH,
    STATE_REFUSALS,
    ApiProblem,
    forbidden,
    invalid,
    kind_words,
    language,
    localised_errors,
    precondition_failed,
    problem_body,
    problem_response,
    request_language,
    unauthenticated,
)
from engine.catalogue import Words
from engine.errors import (
    Conflict,
    DefinitionError,
    HatcheryError,
    IntegrityError,
    NotFound,
    NotYetStarted,
    Refused,
    StoreUnavailable,
)
from engine.observability import ATTEMPT
from engine.timers.calendar import CHINA_TZ

# The problem vocabulary lives in api.problems; its names the routes use are kept here too.
__all__ = ["MESSAGES", "PROBLEM_MEDIA_TYPE", "ApiProblem", "BodyTooLarge", "diagnostics_json",
           "forbidden", "install", "invalid", "language", "log_refused_attempt",
           "log_unexpected", "precondition_failed", "problem_body", "problem_response",
           "refusal_status", "unauthenticated"]

logger = logging.getLogger("hatchery.api")

def refusal_status(code: str) -> int:
    if code in FORBIDDEN_REFUSALS:
        return 403
    if code in STATE_REFUSALS:
        return 409
    return 422


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def log_refused_attempt(request: Request, code: str) -> None:
    """Record a refused attempt to change something in the operations log (who tried what
    and why it was refused), unless the door recorded it already in the transaction that
    refused it; and count it against the caller's allowance (`api.limits`). Blocking: the
    async handler runs it in a worker thread."""
    principal = getattr(request.state, "principal", None)
    service = getattr(request.app.state, "service", None)
    if request.method not in CHANGING or principal is None or service is None:
        return
    limit = getattr(request.app.state, "refusal_limit", None)
    if limit is not None:
        limit.spend(principal.name)
    attempt = ATTEMPT.get()
    if attempt is not None and attempt.logged:
        return
    try:
        service.log_operation(actor=principal.name, action="change_refused",
                              outcome="refused", target=request.url.path,
                              community=principal.community,
                              detail={"method": request.method, "code": code})
    except HatcheryError:
        logger.warning("could not record a refused attempt in the operations log")
    if attempt is not None:
        attempt.logged = True


def _refused(request: Request, exc: Refused) -> Response:
    refusal = exc.refusal
    lang = request_language(request)
    extra: dict[str, Any] = {}
    details = dict(refusal.details)
    errors = details.pop("errors", None)
    if isinstance(errors, list):
        extra["errors"] = localised_errors(errors, lang)
    for key in ("required_roles", "missing", "current_state"):
        if key in details:
            extra[key] = _jsonable(details[key])
    return problem_response(request, refusal_status(refusal.code), refusal.code, refusal.en,
                            refusal.zh, extra)


def _not_found(request: Request, exc: NotFound) -> Response:
    if isinstance(exc, NotYetStarted):
        words = MESSAGES.words("not_yet_started", key=exc.key, at=_shown_instant(exc.at),
                               began=_shown_instant(exc.began))
        return problem_response(request, 404, "case_not_yet_started", words.en, words.zh,
                                {"began_at": exc.began.isoformat()})
    words = MESSAGES.words("not_found", kind=kind_words(exc.kind), key=exc.key)
    return problem_response(request, 404, "not_found", words.en, words.zh)


def _shown_instant(moment: datetime) -> str:
    """An instant as people read it: China time to the second."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _conflict(request: Request, exc: Conflict) -> Response:
    words = MESSAGES.words("conflict", current=exc.current, expected=exc.expected)
    return problem_response(request, 409, "conflict", words.en, words.zh,
                            {"current_version": exc.current},
                            {"ETag": f'"{exc.current}"'})


def diagnostics_json(diagnostics: list[Any]) -> list[dict[str, Any]]:
    """Diagnostics as the command line prints them, one object each, located."""
    out = []
    for d in diagnostics:
        out.append({
            "path": str(getattr(d, "path", "")), "line": int(getattr(d, "line", 1) or 1),
            "column": int(getattr(d, "column", 1) or 1),
            "severity": str(getattr(d, "severity", "error")),
            "code": str(getattr(d, "code", "invalid")), "message": str(getattr(d, "message", d)),
        })
    return out


def _definition_error(request: Request, exc: DefinitionError) -> Response:
    diagnostics = diagnostics_json(exc.diagnostics)
    errors = [d for d in diagnostics if d["severity"] == "error"]
    first = errors[0]["message"] if errors else str(exc)
    words = MESSAGES.words("definition_invalid", count=len(errors) or 1,
                           first=Words(str(exc), first))
    return problem_response(request, 422, "definition_invalid", words.en, words.zh, {
                                "diagnostics": diagnostics,
                                "errors": [{"field": f"{d['path']}:{d['line']}:{d['column']}",
                                            "in": "body", "code": d["code"],
                                            "message": d["message"]} for d in errors],
                            })


def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
    logger.warning("store unavailable: %s", type(exc).__name__)
    words = MESSAGES["store_unavailable"]
    return problem_response(request, 503, "store_unavailable", words.en, words.zh, None,
                            {"Retry-After": "1"})


def _integrity(request: Request, exc: IntegrityError) -> Response:
    logger.error("integrity error on %s %s", request.method, request.url.path)
    words = MESSAGES["integrity_error"]
    return problem_response(request, 500, "integrity_error", words.en, words.zh)


_HANDLERS: dict[type[HatcheryError], Callable[[Request, Any], Response]] = {
    Refused: _refused, NotFound: _not_found, Conflict: _conflict,
    DefinitionError: _definition_error, StoreUnavailable: _store_unavailable,
    IntegrityError: _integrity,
}


def _hatchery_error(request: Request, exc: HatcheryError) -> Response:
    for kind, handler in _HANDLERS.items():
        if isinstance(exc, kind):
            return handler(request, exc)
    return _internal(request, exc)


def _api_problem(request: Request, exc: ApiProblem) -> Response:
    extra = dict(exc.extra)
    if exc.errors:
        extra["errors"] = localised_errors(exc.errors, request_language(request))
    return problem_response(request, exc.status, exc.code, exc.en, exc.zh, extra, exc.headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    parts = [str(p) for p in loc]
    where = parts[0] if parts and parts[0] in ("body", "query", "path", "header") else "body"
    rest = parts[1:] if parts and parts[0] == where else parts
    return ".".join(rest) or where, where


def _allowed_zh(error: Any) -> str:
    """The values a choice takes, in zh words (pydantic's English message names them)."""
    expected = (error.get("ctx") or {}).get("expected")
    values = re.findall(r"'([^']*)'", expected) if isinstance(expected, str) else []
    return f"（可用的值：{'、'.join(values)}）" if values else ""


def _request_validation(request: Request, exc: RequestValidationError) -> Response:
    lang = request_language(request)
    errors = []
    for e in exc.errors():
        name, where = _field_of(e.get("loc", ()))
        kind = str(e.get("type", "invalid"))
        if kind == "json_invalid":
            name = "body"
        message = str(e.get("msg", "invalid"))
        if lang == "zh":
            message = PYDANTIC_ZH.get(kind, message) + _allowed_zh(e)
        errors.append({"field": name, "in": where, "code": kind, "message": message})
    fields = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    words = MESSAGES.words("validation_failed", fields=fields)
    return problem_response(request, 422, "validation_failed", words.en, words.zh,
                            {"errors": errors})


def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 413:
        limit = getattr(request.app.state, "max_body_bytes", 0)
        words = MESSAGES.words("body_too_large", limit=limit)
        return problem_response(request, 413, "body_too_large", words.en, words.zh, None,
                                {"Connection": "close"})
    if exc.status_code == 400:
        # FastAPI's word for a body it could not read (not UTF-8, not JSON): invalid input.
        en, zh = MESSAGES["body_unreadable"].en, MESSAGES["body_unreadable"].zh
        entry = {"field": "body", "in": "body", "code": "body_unreadable", "en": en, "zh": zh}
        return _api_problem(request, ApiProblem(422, "validation_failed", en, zh,
                                                errors=[entry]))
    if exc.status_code == 404:
        code = "route_not_found"
    elif exc.status_code == 405:
        code = "method_not_allowed"
    else:
        code = "http_error"
    words = MESSAGES.get(code, Words(str(exc.detail), str(exc.detail)))
    return problem_response(request, exc.status_code, code, words.en, words.zh, None,
                            dict(exc.headers or {}))


def _internal(request: Request | None, exc: BaseException) -> Response:
    log_unexpected(exc, request.method if request else "?", request.url.path if request else "?")
    words = MESSAGES["internal_error"]
    return problem_response(request, 500, "internal_error", words.en, words.zh)


def log_unexpected(exc: BaseException, method: str, path: str) -> None:
    """Log an unexpected error by type and stack only: messages may quote personal data."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unexpected %s on %s %s\n%s", type(exc).__name__, method, path, stack)


async def _starlette_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Refused | Conflict) and request.method in CHANGING:
        code = exc.refusal.code if isinstance(exc, Refused) else "conflict"
        await run_in_threadpool(log_refused_attempt, request, code)
    if isinstance(exc, ApiProblem):
        return _api_problem(request, exc)
    if isinstance(exc, HatcheryError):
        return _hatchery_error(request, exc)
    if isinstance(exc, RequestValidationError):
        return _request_validation(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_exception(request, exc)
    return _internal(request, exc)


def install(app: FastAPI) -> None:
    """Register every error handler on `app` (the body limit and the catch-all are steps
    of `api.front.Front`)."""
    for kind in (ApiProblem, HatcheryError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _starlette_handler)


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes the limit; an HTTPException so
    that FastAPI's body parsing re-raises it unchanged and the handlers make it a 413."""

    def __init__(self) -> None:
        super().__init__(413)
