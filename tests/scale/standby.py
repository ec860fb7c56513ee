"""A real PostgreSQL hot standby for the replica tests, started by the test itself.

`pg_basebackup` copies a primary into a temporary folder and a second `postgres` (the
Debian binaries under /usr/lib/postgresql/<major>/bin, of the primary's major version)
runs it as a streaming standby on a free port, owned by the OS user that runs clusters
here (`postgres` when the tests run as root, which PostgreSQL refuses to run as).

The primary is the suite's server (127.0.0.1:5432) when it accepts replication
connections. When its pg_hba.conf has no `replication` entry (so it refuses, as the CI
server does here), a throwaway primary is made first (initdb into the same temporary
folder, replication allowed on loopback), and the standby follows that one: still a real
primary and a real hot standby, streaming over TCP, just not the shared server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

CI_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class StandbyUnavailable(RuntimeError):
    """Why no standby could be started here (the test skips, or fails under CI)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries(major: int) -> Path:
    found = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (found / "postgres").exists() or not (found / "pg_basebackup").exists():
        raise StandbyUnavailable(f"no PostgreSQL {major} server binaries in {found}")
    return found


def _as_owner(command: list[str]) -> list[str]:
    """Run `command` as the OS user that may run clusters (not root)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise StandbyUnavailable("running as root without runuser: cannot start postgres")
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_owner(command), capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class Cluster:
    """A cluster this test started: its folder, port and binaries."""

    data: Path
    port: int
    bin: Path
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data.parent / f"{self.data.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        done = _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                     "-w", "-t", "60", "start"])
        if done.returncode != 0:
            raise StandbyUnavailable(f"postgres on port {self.port} did not start: "
                                     f"{done.stderr.strip()} {self._log_tail()}")

    def stop(self) -> None:
        _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
              "stop"], timeout=60)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return ""


def _configure(data: Path, port: int, settings: dict[str, str], hba: str) -> None:
    lines = [f"port = {port}", "listen_addresses = '127.0.0.1'",
             f"unix_socket_directories = '{data}'", "fsync = off",
             "synchronous_commit = off", "full_page_writes = off",
             *(f"{k} = {v}" for k, v in settings.items())]
    (data / "postgresql.conf").write_text("\n".join(lines) + "\n")
    (data / "pg_hba.conf").write_text(hba)
    (data / "pg_ident.conf").write_text("")
    if os.geteuid() == 0:
        shutil.chown(data / "postgresql.conf", "postgres")
        shutil.chown(data / "pg_hba.conf", "postgres")
        shutil.chown(data / "pg_ident.conf", "postgres")


HBA = ("local all all trust\nhost all all 127.0.0.1/32 trust\n"
       "host replication all 127.0.0.1/32 trust\n")


def _server_facts(url: str) -> tuple[int, dict[str, str]]:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            version = int(connection.execute(sa.text("SHOW server_version_num")).scalar_one())
            names = ("max_connections", "max_worker_processes", "max_wal_senders",
                     "max_prepared_transactions", "max_locks_per_transaction")
            values = {n: str(connection.execute(sa.text(f"SHOW {n}")).scalar_one())
                      for n in names}
    finally:
        engine.dispose()
    return version // 10000, values


@dataclass
class Pair:
    """A primary and its hot standby; `own_primary` when the primary was made here."""

    primary_url: str
    standby: Cluster
    own_primary: Cluster | None
    folder: Path

    def standby_url(self, database: str) -> str:
        return self.standby.url(database)

    def stop(self) -> None:
        self.standby.stop()
        if self.own_primary is not None:
            self.own_primary.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_pair(folder: Path, primary_url: str = CI_SERVER) -> Pair:
    """A hot standby of `primary_url` (or of a throwaway primary, see the module)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    major, facts = _server_facts(primary_url)
    binaries = _binaries(major)
    own: Cluster | None = None
    source = make_url(primary_url)
    standby_data = folder / "standby"
    copied = _basebackup(binaries, source.host or "127.0.0.1", source.port or 5432,
                         standby_data)
    if copied is not None:  # the shared server refuses replication: make a primary here
        own = Cluster(folder / "primary", _free_port(), binaries)
        done = _run([str(binaries / "initdb"), "-D", str(own.data), "-U", "postgres",
                     "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        if done.returncode != 0:
            raise StandbyUnavailable(f"initdb failed: {done.stderr.strip()}")
        _configure(own.data, own.port, {"wal_level": "replica", **facts}, HBA)
        own.start()
        primary_url = own.url()
        shutil.rmtree(standby_data, ignore_errors=True)
        again = _basebackup(binaries, "127.0.0.1", own.port, standby_data)
        if again is not None:
            own.stop()
            raise StandbyUnavailable(f"pg_basebackup from the primary made here failed: "
                                     f"{again}")
    standby = Cluster(standby_data, _free_port(), binaries)
    _configure(standby.data, standby.port, {"hot_standby": "on", **facts}, HBA)
    try:
        standby.start()
    except StandbyUnavailable:
        if own is not None:
            own.stop()
        raise
    pair = Pair(primary_url, standby, own, folder)
    _wait_streaming(pair)
    return pair


def _basebackup(binaries: Path, host: str, port: int, target: Path) -> str | None:
    """Copy the primary into `target` as a standby (-R); None when done, else why not."""
    done = _run([str(binaries / "pg_basebackup"), "-h", host, "-p", str(port), "-U",
                 "postgres", "-D", str(target), "-X", "stream", "-R",
                 "--checkpoint=fast", "--no-sync"], timeout=300)
    return None if done.returncode == 0 else done.stderr.strip()


def _wait_streaming(pair: Pair, timeout: float = 60) -> None:
    engine = sa.create_engine(pair.standby.url(), connect_args={"connect_timeout": 5})
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as connection:
                    if connection.execute(sa.text(
                            "SELECT status FROM pg_stat_wal_receiver")).scalar() == "streaming":
                        return
            except sa.exc.DBAPIError:
                pass
            if time.monotonic() > deadline:
                raise StandbyUnavailable("the standby does not stream from its primary")
            time.sleep(0.2)
    finally:
        engine.dispose()
