"""The only place errors become HTTP: RFC 9457 problem details in the caller's language.

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
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

PROBLEM_MEDIA_TYPE = "application/problem+json"
LANGUAGES = ("en", "zh")
logger = logging.getLogger("hatchery.api")

# Refusals whose cause is the case's current state: retrying the same request on the same
# case cannot succeed until the case moves, which is what 409 says.
STATE_REFUSALS = frozenset({
    "not_allowed_from_state", "case_suspended", "case_closed", "checklist_incomplete",
    "already_ticked", "not_ticked", "already_linked", "not_linked", "already_suspended",
    "not_suspended", "assignment_unchanged", "nobody_responsible",
})
FORBIDDEN_REFUSALS = frozenset({"role_missing", "community_out_of_scope",
                                "assignment_not_allowed", "follow_up_not_allowed"})

TITLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "请求有误"),
    401: ("Authentication required", "需要身份验证"),
    403: ("Forbidden", "无权执行"),
    404: ("Not found", "未找到"),
    405: ("Method not allowed", "不支持该请求方法"),
    409: ("Conflict", "冲突"),
    412: ("Precondition failed", "前提条件不成立"),
    413: ("Request body too large", "请求内容过大"),
    415: ("Unsupported media type", "不支持的内容类型"),
    422: ("Invalid input", "输入无效"),
    500: ("Internal error", "内部错误"),
    503: ("Service unavailable", "服务暂不可用"),
}

CODE_TITLES: dict[str, tuple[str, str]] = {
    # refusals that are not about the input given: titled by what they are
    "guard_false": ("Condition not met", "不满足条件"),
    "guard_error": ("Condition could not be checked", "无法检查条件"),
    "calendar_not_covered": ("Deadline cannot be computed", "无法计算期限"),
    "effect_invalid": ("Workflow computed an invalid value", "流程计算出的值无效"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    "unauthenticated": ("a valid bearer token is required: Authorization: Bearer <token>",
                        "需要有效的令牌：Authorization: Bearer <令牌>"),
    "not_found": ("{kind} '{key}' was not found", "未找到{kind_zh}“{key}”"),
    "not_yet_started": ("case '{key}' did not exist yet at {at}: it began at {began}",
                        "事项“{key}”在 {at} 尚未开始：它开始于 {began}"),
    "route_not_found": ("there is no such resource", "没有这个资源"),
    "method_not_allowed": ("this resource does not accept that method", "该资源不支持此请求方法"),
    "too_many_refusals": (
        "too many refused attempts from this token: try again in {seconds} s",
        "该令牌被拒绝的尝试过多，请 {seconds} 秒后再试"),
    "conflict": ("the case is at version {current}, not {expected}: read it again and retry",
                 "事项已是第 {current} 版，而不是第 {expected} 版：请重新读取后再试"),
    "precondition_failed": (
        "If-Match names version {expected} but the case is at version {current}: "
        "read it again and retry",
        "If-Match 指定的是第 {expected} 版，但事项已是第 {current} 版：请重新读取后再试"),
    "body_too_large": ("the request body is larger than {limit} bytes",
                       "请求内容超过 {limit} 字节"),
    "validation_failed": ("the request is not valid: {fields}", "请求无效：{fields}"),
    "body_unreadable": ("the request body could not be read as UTF-8 JSON",
                        "无法将请求内容读取为 UTF-8 编码的 JSON"),
    "definition_invalid": ("{summary} ({count} error(s))",
                           "流程定义有 {count} 处错误，第一处：{first}"),
    "store_unavailable": ("the database cannot be reached; try again shortly",
                          "暂时无法访问数据库，请稍后再试"),
    "integrity_error": ("the stored history no longer matches its hash chain",
                        "存储的历史与其哈希链不符"),
    "internal_error": ("an unexpected error occurred; it has been logged",
                       "发生意外错误，已记录"),
}

_KINDS_ZH = {"case": "事项", "workflow": "流程", "version": "版本", "item": "清单项",
             "link": "关联", "token": "令牌", "event": "事件"}

# zh for the commonest pydantic validation messages (pydantic itself speaks English only).
_PYDANTIC_ZH = {
    "missing": "必须填写", "string_type": "必须是文本", "int_type": "必须是整数",
    "int_parsing": "必须是整数", "bool_type": "必须是 true 或 false",
    "bool_parsing": "必须是 true 或 false", "dict_type": "必须是对象",
    "list_type": "必须是列表", "string_too_long": "太长", "string_too_short": "太短",
    "string_pattern_mismatch": "格式不符", "greater_than_equal": "太小",
    "less_than_equal": "太大", "literal_error": "不是允许的值", "enum": "不是允许的值",
    "json_invalid": "不是有效的 JSON", "extra_forbidden": "不是这里的字段",
    "model_attributes_type": "必须是 JSON 对象", "model_type": "必须是 JSON 对象",
    "value_error": "值无效", "datetime_from_date_parsing": "必须是日期时间",
    "datetime_parsing": "必须是日期时间", "datetime_type": "必须是日期时间",
}


@dataclass
class ApiProblem(Exception):
    """An error raised by the HTTP layer itself (authentication, scope, headers, size)."""

    status: int
    code: str
    en: str
    zh: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    errors: list[Mapping[str, Any]] = field(default_factory=list)  # {field, in, code, en, zh}

    def __post_init__(self) -> None:
        super().__init__(self.en)

    @classmethod
    def of(cls, status: int, code: str, *, extra: Mapping[str, Any] | None = None,
           headers: Mapping[str, str] | None = None, **args: Any) -> ApiProblem:
        """A problem whose text comes from `MESSAGES[code]` formatted with `args`."""
        en, zh = MESSAGES[code]
        return cls(status, code, en.format(**args), zh.format(**args), dict(extra or {}),
                   dict(headers or {}))


def unauthenticated() -> ApiProblem:
    return ApiProblem.of(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})


def forbidden(code: str, en: str, zh: str, **extra: Any) -> ApiProblem:
    """403 naming what is missing (a role or a community scope)."""
    return ApiProblem(403, code, en, zh, extra)


def precondition_failed(expected: int | str, current: int) -> ApiProblem:
    return ApiProblem.of(412, "precondition_failed", expected=expected, current=current,
                         extra={"current_version": current},
                         headers={"ETag": f'"{current}"'})


def invalid(field_name: str, code: str, en: str, zh: str, location: str = "body"
            ) -> ApiProblem:
    """422 for one field the HTTP layer itself found wrong (a header, a query value)."""
    entry = {"field": field_name, "in": location, "code": code, "en": en, "zh": zh}
    return ApiProblem(422, "validation_failed", f"the request is not valid: {field_name}: {en}",
                      f"请求无效：{field_name}：{zh}", errors=[entry])


def language(accept_language: str | None, default: str = "en") -> str:
    """zh or en, whichever `Accept-Language` prefers (q-values honoured, first wins ties)."""
    best, best_q = default, 0.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def problem_body(status: int, code: str, detail: str, lang: str, instance: str | None,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    en, zh = CODE_TITLES.get(code) or TITLES.get(
        status, TITLES[500] if status >= 500 else TITLES[400])
    body: dict[str, Any] = {
        "type": f"urn:hatchery:problem:{code}",
        "title": zh if lang == "zh" else en,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra or {})
    return body


def problem_response(request: Request | None, status: int, code: str, en: str, zh: str,
                     extra: Mapping[str, Any] | None = None,
                     headers: Mapping[str, str] | None = None) -> Response:
    lang = _request_language(request)
    path = request.url.path if request is not None else None
    body = problem_body(status, code, zh if lang == "zh" else en, lang, path, extra)
    return _json_response(status, body, lang, headers)


def _json_response(status: int, body: Mapping[str, Any], lang: str,
                   headers: Mapping[str, str] | None) -> Response:
    out = dict(headers or {})
    out["Content-Language"] = lang
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type=PROBLEM_MEDIA_TYPE, headers=out)


def _request_language(request: Request | None) -> str:
    if request is None:
        return "en"
    default = getattr(request.app.state, "default_language", "en")
    return language(request.headers.get("accept-language"), default)


def _localised_errors(errors: list[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Engine field problems ({field, code, en, zh}) as {field, code, message}."""
    out = []
    for e in errors:
        message = e.get("zh") if lang == "zh" else e.get("en")
        out.append({"field": str(e.get("field", "")), "in": str(e.get("in", "body")),
                    "code": str(e.get("code", "invalid")),
                    "message": str(message or e.get("message") or "")})
    return out


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
    lang = _request_language(request)
    extra: dict[str, Any] = {}
    details = dict(refusal.details)
    errors = details.pop("errors", None)
    if isinstance(errors, list):
        extra["errors"] = _localised_errors(errors, lang)
    for key in ("required_roles", "missing", "current_state"):
        if key in details:
            extra[key] = _jsonable(details[key])
    return problem_response(request, refusal_status(refusal.code), refusal.code, refusal.en,
                            refusal.zh, extra)


def _not_found(request: Request, exc: NotFound) -> Response:
    if isinstance(exc, NotYetStarted):
        en, zh = MESSAGES["not_yet_started"]
        args = {"key": exc.key, "at": _shown_instant(exc.at),
                "began": _shown_instant(exc.began)}
        return problem_response(request, 404, "case_not_yet_started", en.format(**args),
                                zh.format(**args), {"began_at": exc.began.isoformat()})
    en, zh = MESSAGES["not_found"]
    args = {"kind": exc.kind, "kind_zh": _KINDS_ZH.get(exc.kind, exc.kind), "key": exc.key}
    return problem_response(request, 404, "not_found", en.format(**args), zh.format(**args))


def _shown_instant(moment: datetime) -> str:
    """An instant as people read it: China time to the second."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _conflict(request: Request, exc: Conflict) -> Response:
    en, zh = MESSAGES["conflict"]
    args = {"current": exc.current, "expected": exc.expected}
    return problem_response(request, 409, "conflict", en.format(**args), zh.format(**args),
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
    en, zh = MESSAGES["definition_invalid"]
    args = {"count": len(errors) or 1, "first": first, "summary": exc}
    return problem_response(request, 422, "definition_invalid", en.format(**args),
                            zh.format(**args), {
                                "diagnostics": diagnostics,
                                "errors": [{"field": f"{d['path']}:{d['line']}:{d['column']}",
                                            "in": "body", "code": d["code"],
                                            "message": d["message"]} for d in errors],
                            })


def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
    logger.warning("store unavailable: %s", type(exc).__name__)
    en, zh = MESSAGES["store_unavailable"]
    return problem_response(request, 503, "store_unavailable", en, zh, None,
                            {"Retry-After": "1"})


def _integrity(request: Request, exc: IntegrityError) -> Response:
    logger.error("integrity error on %s %s", request.method, request.url.path)
    en, zh = MESSAGES["integrity_error"]
    return problem_response(request, 500, "integrity_error", en, zh)


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
        extra["errors"] = _localised_errors(exc.errors, _request_language(request))
    return problem_response(request, exc.status, exc.code, exc.en, exc.zh, extra, exc.headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    parts = [str(p) for p in loc]
    where = parts[0] if parts and parts[0] in ("body", "query", "path", "header") else "body"
    rest = parts[1:] if parts and parts[0] == where else parts
    return ".".join(rest) or where, where


def _request_validation(request: Request, exc: RequestValidationError) -> Response:
    lang = _request_language(request)
    errors = []
    for e in exc.errors():
        name, where = _field_of(e.get("loc", ()))
        kind = str(e.get("type", "invalid"))
        if kind == "json_invalid":
            name = "body"
        message = str(e.get("msg", "invalid"))
        if lang == "zh":
            message = _PYDANTIC_ZH.get(kind, message)
        errors.append({"field": name, "in": where, "code": kind, "message": message})
    fields = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    en, zh = MESSAGES["validation_failed"]
    return problem_response(request, 422, "validation_failed", en.format(fields=fields),
                            zh.format(fields=fields), {"errors": errors})


def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 413:
        limit = getattr(request.app.state, "max_body_bytes", 0)
        en, zh = MESSAGES["body_too_large"]
        return problem_response(request, 413, "body_too_large", en.format(limit=limit),
                                zh.format(limit=limit), None, {"Connection": "close"})
    if exc.status_code == 400:
        # FastAPI's word for a body it could not read (not UTF-8, not JSON): invalid input.
        en, zh = MESSAGES["body_unreadable"]
        entry = {"field": "body", "in": "body", "code": "body_unreadable", "en": en, "zh": zh}
        return _api_problem(request, ApiProblem(422, "validation_failed", en, zh,
                                                errors=[entry]))
    if exc.status_code == 404:
        code = "route_not_found"
    elif exc.status_code == 405:
        code = "method_not_allowed"
    else:
        code = "http_error"
    en, zh = MESSAGES.get(code, (str(exc.detail), str(exc.detail)))
    return problem_response(request, exc.status_code, code, en, zh, None,
                            dict(exc.headers or {}))


def _internal(request: Request | None, exc: BaseException) -> Response:
    log_unexpected(exc, request.method if request else "?", request.url.path if request else "?")
    en, zh = MESSAGES["internal_error"]
    return problem_response(request, 500, "internal_error", en, zh)


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


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """Register every error handler and the two guarding middlewares on `app`."""
    for kind in (ApiProblem, HatcheryError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _starlette_handler)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes the limit; an HTTPException so
    that FastAPI's body parsing re-raises it unchanged and the handlers make it a 413."""

    def __init__(self) -> None:
        super().__init__(413)


def _scope_language(scope: Scope, default: str = "en") -> str:
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return language(value.decode("latin-1"), default)
    return default


async def _send_problem(send: Send, scope: Scope, status: int, code: str,
                        headers: Mapping[str, str] | None = None, **args: Any) -> None:
    lang = _scope_language(scope)
    en, zh = MESSAGES[code]
    detail = (zh if lang == "zh" else en).format(**args)
    body = json.dumps(problem_body(status, code, detail, lang, scope.get("path")),
                      ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
           (b"content-length", str(len(body)).encode()),
           (b"content-language", lang.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over the limit, by its Content-Length or by counting as it streams."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await _send_problem(send, scope, 413, "body_too_large",
                                        {"Connection": "close"}, limit=self.limit)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_problem(send, scope, 413, "body_too_large",
                                    {"Connection": "close"}, limit=self.limit)


class CatchAllMiddleware:
    """The last net: any exception that escaped the handlers becomes a 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unexpected(exc, scope.get("method", "?"), scope.get("path", "?"))
            if not started:
                await _send_problem(send, scope, 500, "internal_error")

