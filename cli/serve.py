"""`hatchery serve`: run the HTTP service under uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from engine.settings import Settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Start the service on the configured database with the shipped workflows loaded."""
    from api.main import create_app

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"The console: http://{shown}:{port}/   (the API: /api/v1, its reference: "
               "/docs)")
    uvicorn.run(create_app(settings), host=host, port=port)
