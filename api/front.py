"""The one ASGI layer every HTTP request passes before FastAPI's own: what the app does
for every request whatever its route, in this order:

1. name it (`X-Request-ID` on the response; `REQUEST_ID` and, for a changing request,
   `ATTEMPT` set for the work done on its behalf), time it, count it and log its access
   line once answered (`api.metrics.RequestMeter`);
2. put the security headers on every response, errors included (`api.console.headers`);
3. 422 for a NUL in the path or in a query parameter (`api.edge`);
4. 413 for a body over the limit, by its Content-Length or by counting as it streams;
5. a 500 problem for any exception that escaped the handlers (logged by type and stack).

These were five middlewares, each wrapping `send` (and two `receive`) in a closure of its
own: one layer spares four coroutine frames on the way in and four on every response
message (about 1 % of the instructions of a fire). Each step behaves as its own middleware
did, nested in the order above (the 422 and 413 answers get the security headers and the
request id; an exception of steps 1-3 is not the catch-all's, as before).
"""

from __future__ import annotations

import time

from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console.headers import NAMES as SECURITY_NAMES
from api.console.headers import security_headers
from api.dispatch import QuickRoutes
from api.edge import request_line_problem, send_request_line_problem
from api.errors import BodyTooLarge, log_unexpected
from api.metrics import RequestMeter
from api.problems import send_problem

__all__ = ["Front"]


def declared_over(scope: Scope, limit: int) -> bool:
    """Whether the request's Content-Length says its body is over `limit`."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = 0
            if declared > limit:
                return True
    return False


class Front:
    """The layer described above, around `app` (FastAPI's exception handling and router)."""

    def __init__(self, app: ASGIApp, meter: RequestMeter, max_body_bytes: int) -> None:
        self.app = app
        # FastAPI's layers under this one end in its router: the quick operations'
        # routes are found there without the router's walk (`api.dispatch`).
        if (isinstance(app, ExceptionMiddleware) and isinstance(app.app, AsyncExitStackMiddleware)
                and not isinstance(app.app.app, QuickRoutes)):
            app.app.app = QuickRoutes(app.app.app)
        self.meter = meter
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        meter = self.meter
        request_id, marks = meter.enter(scope)
        began = time.perf_counter()
        status = 500
        started = False
        extra = security_headers(scope)
        named = (b"x-request-id", request_id.encode("latin-1"))

        async def answer(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                for name, _ in headers:
                    if name.lower() in SECURITY_NAMES:  # set by the response: it keeps its own
                        present = {name.lower() for name, _ in headers}
                        headers += [(k, v) for k, v in extra if k not in present]
                        break
                else:
                    headers += extra
                headers.append(named)
                message["headers"] = headers
            await send(message)

        try:
            flaw = request_line_problem(scope)
            if flaw is not None:
                await send_request_line_problem(answer, scope, *flaw)
                return
            limit = self.limit
            if declared_over(scope, limit):
                await send_problem(answer, scope, 413, "body_too_large",
                                   {"Connection": "close"}, limit=limit)
                return
            received = 0

            async def counting() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge
                return message

            try:
                await self.app(scope, counting, answer)
            except Exception as exc:
                log_unexpected(exc, scope.get("method", "?"), scope.get("path", "?"))
                if not started:
                    await send_problem(answer, scope, 500, "internal_error")
        finally:
            meter.leave(scope, status, time.perf_counter() - began, marks)

