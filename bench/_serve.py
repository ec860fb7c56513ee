"""Serve an app factory exactly as `hatchery serve` does (`cli.serve.run`: uvicorn's
multi-worker supervisor on a socket made with `IPPROTO_TCP`, so Nagle's algorithm is off),
for apps that are not Hatchery's (the bare floor), with the access log off for both.

    python -m bench._serve APP_FACTORY PORT WORKERS
"""

from __future__ import annotations

import sys

from cli.serve import run


def main(app: str, port: int, workers: int) -> None:
    run(app, host="127.0.0.1", port=port, workers=workers, access_log=False,
        log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
