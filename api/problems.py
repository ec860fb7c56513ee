"""Problem details (RFC 9457) in the caller's language: the vocabulary of every error
response (titles, messages, the `ApiProblem` the routes raise and its constructors), the
choice of language, and the document itself, as a response or straight onto an ASGI
`send` (for the middlewares and the HTTP server, where there is no request object).
`api.errors` decides which error becomes which problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

from engine.catalogue import Catalogue, Words

PROBLEM_MEDIA_TYPE = "application/problem+json"
LANGUAGES = ("en", "zh")

# Refusals whose cause is the case's current state: retrying the same request on the same
# case cannot succeed until the case moves, which is what 409 says.
STATE_REFUSALS = frozenset({
    "not_allowed_from_state", "case_suspended", "case_closed", "checklist_incomplete",
    "already_ticked", "not_ticked", "already_linked", "not_linked", "already_suspended",
    "not_suspended", "assignment_unchanged", "nobody_responsible",
})
FORBIDDEN_REFUSALS = frozenset({"role_missing", "community_out_of_scope",
                                "assignment_not_allowed", "follow_up_not_allowed"})

# A problem's title: by its code where one is titled by what it is, else by its status.
TITLES = Catalogue.en_zh("api.titles", {
    "400": ("Bad request", "请求有误"),
    "401": ("Authentication required", "需要身份验证"),
    "403": ("Forbidden", "无权执行"),
    "404": ("Not found", "未找到"),
    "405": ("Method not allowed", "不支持该请求方法"),
    "409": ("Conflict", "冲突"),
    "412": ("Precondition failed", "前提条件不成立"),
    "413": ("Request body too large", "请求内容过大"),
    "415": ("Unsupported media type", "不支持的内容类型"),
    "422": ("Invalid input", "输入无效"),
    "500": ("Internal error", "内部错误"),
    "503": ("Service unavailable", "服务暂不可用"),
    # refusals that are not about the input given: titled by what they are
    "guard_false": ("Condition not met", "不满足条件"),
    "guard_error": ("Condition could not be checked", "无法检查条件"),
    "calendar_not_covered": ("Deadline cannot be computed", "无法计算期限"),
    "effect_invalid": ("Workflow computed an invalid value", "流程计算出的值无效"),
})

MESSAGES = Catalogue.en_zh("api.problems", {
    "unauthenticated": ("a valid bearer token is required: Authorization: Bearer <token>",
                        "需要有效的令牌：Authorization: Bearer <令牌>"),
    "not_found": ("{kind} '{key}' was not found", "未找到{kind}“{key}”"),
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
    # first: the definition error itself in English, its first diagnostic in Chinese
    "definition_invalid": ("{first} ({count} error(s))",
                           "流程定义有 {count} 处错误，第一处：{first}"),
    "store_unavailable": ("the database cannot be reached; try again shortly",
                          "暂时无法访问数据库，请稍后再试"),
    "integrity_error": ("the stored history no longer matches its hash chain",
                        "存储的历史与其哈希链不符"),
    "internal_error": ("an unexpected error occurred; it has been logged",
                       "发生意外错误，已记录"),
})

# What a NotFound names, in words (its `kind` is the English word).
KINDS = Catalogue.en_zh("api.kinds", {
    "case": ("case", "事项"), "workflow": ("workflow", "流程"), "version": ("version", "版本"),
    "item": ("item", "清单项"), "link": ("link", "关联"), "token": ("token", "令牌"),
    "event": ("event", "事件"),
})


def kind_words(kind: str) -> Words:
    """A NotFound's kind in both languages (an unnamed kind as it is)."""
    return KINDS.get(kind, Words(kind, kind))

# zh for the commonest pydantic validation messages (pydantic itself speaks English only).
PYDANTIC_ZH = {
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
        words = MESSAGES.words(code, **args)
        return cls(status, code, words.en, words.zh, dict(extra or {}), dict(headers or {}))


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
    title = TITLES.get(code) or TITLES.get(str(status),
                                            TITLES["500"] if status >= 500 else TITLES["400"])
    body: dict[str, Any] = {
        "type": f"urn:hatchery:problem:{code}",
        "title": title.get(lang),
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
    lang = request_language(request)
    path = request.url.path if request is not None else None
    body = problem_body(status, code, zh if lang == "zh" else en, lang, path, extra)
    return _json_response(status, body, lang, headers)


def _json_response(status: int, body: Mapping[str, Any], lang: str,
                   headers: Mapping[str, str] | None) -> Response:
    out = dict(headers or {})
    out["Content-Language"] = lang
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type=PROBLEM_MEDIA_TYPE, headers=out)


def request_language(request: Request | None) -> str:
    if request is None:
        return "en"
    default = getattr(request.app.state, "default_language", "en")
    return language(request.headers.get("accept-language"), default)


def localised_errors(errors: list[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Engine field problems ({field, code, en, zh}) as {field, code, message}."""
    out = []
    for e in errors:
        message = e.get("zh") if lang == "zh" else e.get("en")
        out.append({"field": str(e.get("field", "")), "in": str(e.get("in", "body")),
                    "code": str(e.get("code", "invalid")),
                    "message": str(message or e.get("message") or "")})
    return out




def scope_language(scope: Scope, default: str = "en") -> str:
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return language(value.decode("latin-1"), default)
    return default


async def send_problem(send: Send, scope: Scope, status: int, code: str,
                        headers: Mapping[str, str] | None = None, **args: Any) -> None:
    lang = scope_language(scope)
    detail = MESSAGES.text(code, lang, **args)
    body = json.dumps(problem_body(status, code, detail, lang, scope.get("path")),
                      ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
           (b"content-length", str(len(body)).encode()),
           (b"content-language", lang.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
