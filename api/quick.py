"""The quick path of an operation: one worker thread for the token and the work.

FastAPI answers an operation in three steps on the event loop: solve its dependencies (the
caller's token is looked up in a worker thread of its own: `api.deps`), validate its
parameters and body, then run it (its blocking part in a second worker thread). Each
worker-thread hop, and FastAPI's generic solving of every parameter, costs more than most
of the work it carries (a fire spends about a third of its event-loop time on them).

An operation marked with `@quick(blocking)` is answered by the quick path instead whenever
its parameters and body are valid: they are validated here with FastAPI's own functions and
fields (so the values are those FastAPI would pass), then one worker thread (`api.hop`,
a cheaper hop than anyio's) looks the token up, checks the role (`api.deps.BLOCKING`) and
runs `blocking` with the values the endpoint would have got, and the answer is serialized
exactly as FastAPI does. Whenever anything is not valid, or a dependency is overridden,
the request goes the whole FastAPI way instead, which decides 401 and 403 before any 422
as always; so the quick path never answers a request differently, it only answers valid
ones sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from copy import deepcopy
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.routing import APIRoute, serialize_response

from api import hop
from api.deps import BLOCKING, Context, bearer

__all__ = ["quick", "quick_handler"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
QUICK = "__hatchery_quick__"


def quick(blocking: Callable[..., object]) -> Callable[[Endpoint], Endpoint]:
    """Mark an `async` endpoint whose whole work is `blocking(**its parameters)` run in a
    worker thread, so that the quick path may run it with the token lookup in one thread.
    The endpoint itself is left as it is (FastAPI still documents and serves it)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, QUICK, blocking)
        return endpoint

    return mark


def quick_handler(route: APIRoute, handler: Handler) -> Handler:
    """`handler` (FastAPI's own for `route`) with the quick path in front, when the
    route's endpoint is marked and its shape is one the quick path serves."""
    blocking = getattr(route.endpoint, QUICK, None)
    plan = _Plan.of(route) if blocking is not None else None
    if plan is None or blocking is None:
        return handler

    async def answer(request: Request) -> Response:
        values = await plan.values(request)
        if values is None:
            return await handler(request)
        credentials = await bearer(request)
        response = Response()
        del response.headers["content-length"]
        response.status_code = None  # type: ignore[assignment]  # as FastAPI's own
        values[plan.response_name] = response

        def work() -> object:
            values[plan.context_name] = plan.context(request, credentials)
            return blocking(**values)

        return plan.reply(await plan.serialize(await hop.run(work)), response)

    return answer


class _Plan:
    """What the quick path needs of one route, checked once when its handler is built."""

    def __init__(self, route: APIRoute, dependant: Dependant, context_name: str,
                 context: Callable[[Request, Any], Context], response_name: str) -> None:
        self.route = route
        self.dependant = dependant
        self.context_name = context_name
        self.context = context
        self.response_name = response_name
        self.params = [_Params.of(fields) for fields in (
            dependant.path_params, dependant.query_params, dependant.header_params)]

    @classmethod
    def of(cls, route: APIRoute) -> _Plan | None:
        """The plan, or None for a route whose shape the quick path does not serve: more
        than one dependency or one not in `BLOCKING`, parameters other than path, query,
        header, body and the response, or an answer not serialized by its model."""
        dependant = route.dependant
        if (len(dependant.dependencies) != 1 or dependant.cookie_params
                or dependant.request_param_name or dependant.background_tasks_param_name
                or dependant.security_scopes_param_name or dependant.http_connection_param_name
                or dependant.websocket_param_name or not dependant.response_param_name
                or route.response_field is None
                or not isinstance(route.response_class, DefaultPlaceholder)):
            return None
        needed = dependant.dependencies[0]
        context = BLOCKING.get(needed.call) if needed.call is not None else None
        if context is None or needed.name is None:
            return None
        return cls(route, dependant, needed.name, context, dependant.response_param_name)

    async def values(self, request: Request) -> dict[str, Any] | None:
        """The endpoint's parameters as FastAPI would validate them, or None when any is
        not valid (or the body is not JSON, or a dependency is overridden)."""
        provider = self.route.dependency_overrides_provider
        if provider is not None and getattr(provider, "dependency_overrides", None):
            return None
        dependant = self.dependant
        values: dict[str, Any] = {}
        path, query, header = self.params
        if not (path.read(request.path_params, values)
                and (query.empty or query.read(request.query_params, values))
                and header.read(request.headers, values)):
            return None
        if dependant.body_params:
            # JSON the strict check parsed (`api.edge`) and FastAPI would read as JSON.
            body = request.__dict__.get("_json")
            if body is None or not request.headers.get("content-type"):
                return None
            found, errors = await request_body_to_args(
                dependant.body_params, body, self.route._embed_body_fields)
            if errors:
                return None
            values.update(found)
        return values

    async def serialize(self, content: object) -> bytes:
        route = self.route
        serialized: bytes = await serialize_response(
            field=route.response_field, response_content=content,
            include=route.response_model_include, exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none, is_coroutine=True,
            dump_json=True)
        return serialized

    def reply(self, content: bytes, sub: Response) -> Response:
        """The response FastAPI makes: its status the one the operation set, else the
        route's; the operation's headers after the content headers."""
        status = sub.status_code or self.route.status_code
        response = (Response(content=content, media_type="application/json")
                    if status is None else
                    Response(content=content, media_type="application/json",
                             status_code=status))
        response.headers.raw.extend(sub.headers.raw)
        return response


class _Params:
    """The path, query or header parameters of a route, read from a request as FastAPI's
    `request_params_to_args` reads them. That function works out again for every field of
    every request what kind of field it is and under which name to look it up (about a
    twentieth of a fire's CPU); here that is done once. A plain field (one name, no model,
    no list, no JSON) is then looked up and validated exactly as FastAPI does it; any other
    makes the whole group go through FastAPI's function."""

    def __init__(self, fields: Sequence[ModelField],
                 plain: list[tuple[ModelField, str, tuple[str, str], bool]] | None) -> None:
        self.fields = fields
        self.plain = plain
        self.empty = not fields

    @classmethod
    def of(cls, fields: Sequence[ModelField]) -> _Params:
        plain = []
        for field in fields:
            aliases = _get_param_aliases(field)
            in_ = getattr(field.field_info, "in_", None)
            if (_get_param_model(field) is not None or _is_json_field(field)
                    or field_annotation_is_sequence(field.field_info.annotation)
                    or len(aliases) != 1 or in_ is None):
                return cls(fields, None)
            alias = aliases[0][1]
            plain.append((field, alias, (in_.value, alias), field.field_info.is_required()))
        return cls(fields, plain)

    def read(self, received: Mapping[str, Any], values: dict[str, Any]) -> bool:
        """Put the fields' values in `values`; False when any is missing or not valid."""
        if self.plain is None:
            found, errors = request_params_to_args(self.fields, received)
            values.update(found)
            return not errors
        for field, alias, loc, required in self.plain:
            value = received.get(alias)
            if value is None:
                if required:
                    return False
                value = deepcopy(field.default)
                if not field.field_info.validate_default:
                    values[field.name] = value
                    continue
            value, errors = field.validate(value, values, loc=loc)
            if errors:
                return False
            values[field.name] = value
        return True
