"""The floor for `bench/http.py`: a bare FastAPI endpoint that parses a JSON body the size
of a fire request and answers with JSON, doing no I/O. Served by uvicorn exactly as the
real app is (`--factory`, 2 workers), so the ratio between them is the cost of Hatchery."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class Fire(BaseModel):
    trigger: str
    input: dict[str, Any] = {}


def create() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/cases/{case_id}/events")
    def fire(case_id: str, body: Fire) -> dict[str, Any]:
        return {"case": {"id": case_id, "state": body.trigger, "version": 1},
                "replayed": False}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
