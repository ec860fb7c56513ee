"""Serve an app factory with uvicorn's own multi-worker supervisor, on a listening socket
made with `IPPROTO_TCP`.

Why not `uvicorn --workers 2`: uvicorn 0.54 binds that socket as `socket.socket(family)`
(protocol 0); asyncio then leaves Nagle's algorithm on for the accepted connections (it
only sets TCP_NODELAY when the protocol is IPPROTO_TCP), and since uvicorn writes a
response's headers and body separately, every response waits about 40 ms for the client's
delayed ACK. Both the bare floor and Hatchery would then measure that wait, not themselves.

    python -m bench._serve APP_FACTORY PORT WORKERS
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess


def main(app: str, port: int, workers: int) -> None:
    config = uvicorn.Config(app, factory=True, host="127.0.0.1", port=port, workers=workers,
                            log_level="warning", access_log=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
