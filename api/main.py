"""The HTTP application: `create_app(settings)` builds it; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from engine.loader import load_file
from engine.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings`; workflows are loaded when it starts."""
    settings = settings or Settings()
    workflows: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for path in sorted(settings.workflows_dir.glob("*.yaml")):
            result = load_file(path)
            if result.spec is not None:
                workflows[result.spec.id] = result.spec
        yield

    app = FastAPI(title="Hatchery", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/workflows", summary="List the loaded workflow definitions")
    def list_workflows() -> list[dict[str, Any]]:
        return [{"id": s.id, "version": s.version, "title": s.title} for s in workflows.values()]

    return app
