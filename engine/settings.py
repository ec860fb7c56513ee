"""Settings read from the environment (prefix-free names an operator already knows)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the data lives and which workflows are shipped; injected, never global."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql+psycopg://...; default: a SQLite file in data/",
    )
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="HATCHERY_DATA_DIR")
    workflows_dir: Path = Field(default=PROJECT_ROOT / "workflows",
                                alias="HATCHERY_WORKFLOWS_DIR")
    communities_file: Path = Field(
        default=PROJECT_ROOT / "communities.yaml", alias="HATCHERY_COMMUNITIES_FILE",
        description="The names people see for each community path (zh, en); a path it "
                    "lacks is shown by its last segment. See engine.access.communities.")
    lang: str = Field(default="en", alias="HATCHERY_LANG")
    run_timers: bool = Field(
        default=True, alias="HATCHERY_RUN_TIMERS",
        description="Fire due timers inside the API process (false when workers do it).",
    )
    timer_poll_seconds: float = Field(default=5.0, gt=0, alias="HATCHERY_TIMER_POLL_SECONDS")
    timer_lease_seconds: float = Field(
        default=15.0, gt=0, alias="HATCHERY_TIMER_LEASE_SECONDS",
        description="How long a process's claim on due timers is respected: the timers of "
                    "a process that died are taken over this long after it claimed them "
                    "(a live process renews its claims while it fires them).")
    chain_key: str | None = Field(
        default=None, alias="HATCHERY_CHAIN_KEY",
        description="Seals every case's head (64+ hex digits); made once into data_dir as "
                    "chain.key when unset. Keep a copy apart from the database.")
    session_secret: str | None = Field(
        default=None, alias="HATCHERY_SESSION_SECRET",
        description="Signs the console's cookies; generated once into data_dir when unset.")
    session_idle_minutes: float = Field(
        default=30.0, gt=0, alias="HATCHERY_SESSION_IDLE_MINUTES",
        description="A console session ends after this long without activity.")
    workflows_poll_seconds: float = Field(
        default=2.0, ge=0, alias="HATCHERY_WORKFLOWS_POLL_SECONDS",
        description="How often the workflows folder is checked for changes (0: never).")
    log_format: Literal["text", "json"] = Field(
        default="text", alias="HATCHERY_LOG_FORMAT",
        description="text, or json: one JSON object per line with the request id.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="HATCHERY_LOG_LEVEL")
    refusal_burst: int = Field(
        default=60, ge=1, alias="HATCHERY_REFUSAL_BURST",
        description="Refused attempts one token may make at once before it is answered 429.")
    refusal_per_minute: float = Field(
        default=60.0, gt=0, alias="HATCHERY_REFUSAL_PER_MINUTE",
        description="How fast a token's allowance of refused attempts comes back.")

    db_pool_size: int = Field(
        default=5, ge=1, alias="HATCHERY_DB_POOL_SIZE",
        description="Connections each process keeps open (see docs/scaling.md).")
    db_max_overflow: int = Field(
        default=5, ge=0, alias="HATCHERY_DB_MAX_OVERFLOW",
        description="Connections a process may open beyond its pool under a burst.")
    db_connections: int | None = Field(
        default=None, ge=1, alias="HATCHERY_DB_CONNECTIONS",
        description="The database connections this server's processes may hold in all: "
                    "when set, each of the HATCHERY_PROCESSES gets an equal share (no "
                    "overflow), instead of HATCHERY_DB_POOL_SIZE + HATCHERY_DB_MAX_OVERFLOW.")
    processes: int = Field(
        default=1, ge=1, alias="HATCHERY_PROCESSES",
        description="Processes of this server sharing HATCHERY_DB_CONNECTIONS (set by "
                    "`hatchery serve --workers N` for its workers).")
    db_statement_timeout_seconds: float = Field(
        default=30.0, ge=0, alias="HATCHERY_DB_STATEMENT_TIMEOUT_SECONDS",
        description="PostgreSQL: a statement of the service running longer is cancelled "
                    "(a 503 for the request); a transaction left idle ten times as long is "
                    "ended. 0: none.")

    database_read_url: str | None = Field(
        default=None, alias="DATABASE_READ_URL",
        description="A PostgreSQL streaming replica of DATABASE_URL: auditors' queries, "
                    "exports and statistics read it while its lag is within "
                    "HATCHERY_READ_MAX_LAG_SECONDS (see engine.store.replica).")
    read_max_lag_seconds: float = Field(
        default=10.0, ge=0, alias="HATCHERY_READ_MAX_LAG_SECONDS",
        description="A replica further behind than this is not read (the primary is).")

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded default SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hatchery.db'}"
