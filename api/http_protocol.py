"""The HTTP server's own answers as problems too: a request so malformed that it never
reaches the app (a broken request line, an invalid header) is answered by uvicorn itself;
`ProblemH11Protocol` makes that answer a 400 `application/problem+json` like every other
error. `hatchery serve` runs uvicorn with it (`uvicorn.Config(http=ProblemH11Protocol)`).

It also keeps uvicorn's own access line off when the config says so (`access_log=False`):
uvicorn decides by whether its access logger has handlers, and the app's logging set-up
(`engine.observability.configure_logging`, run by each worker after uvicorn's) sends that
logger to the root handler, so every request was logged twice, once by uvicorn and once
by the app (`hatchery.request`, with route, status, time and actor); a line costs about
5 % of a fire's CPU in the worker (py-spy).

The request could not be read, so neither its language nor its path is known: the detail
is given in both languages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from api.errors import PROBLEM_MEDIA_TYPE, problem_body

DETAIL = "the HTTP request could not be parsed (无法解析该 HTTP 请求)"


def malformed_request_body() -> bytes:
    body = problem_body(400, "malformed_request", DETAIL, "en", None)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, whose 400 for a malformed request is a problem document and
    whose access line follows `Config.access_log`."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.access_log = self.access_log and config.access_log

    def send_400_response(self, msg: str) -> None:
        body = malformed_request_body()
        headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                   (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers,
                                                         reason=b"Bad Request")))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
