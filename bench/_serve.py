"""Serve an app factory exactly as `hatchery serve` does (`cli.serve.run`: uvicorn's
multi-worker supervisor on a socket made with `IPPROTO_TCP`, so Nagle's algorithm is off),
for the bare floor and for Hatchery alike (Hatchery with its access line, as users run it).

    python -m bench._serve APP_FACTORY PORT WORKERS
"""

from __future__ import annotations

import sys

from cli.serve import run


def main(app: str, port: int, workers: int) -> None:
    run(app, host="127.0.0.1", port=port, workers=workers)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
