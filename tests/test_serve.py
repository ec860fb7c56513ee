"""`hatchery serve`: several worker processes accepting on one listening socket, each
through a descriptor that leaves a new connection to a worker holding fewer, so that
connections are spread evenly; Nagle's algorithm off."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cli.balance import BalancedSocket, Shares, listening_workers
from cli.listeners import BalancedListeners, listening_socket
from cli.serve import default_workers
from engine.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_listening_socket_is_tcp_so_accepted_connections_get_nodelay() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_each_worker_gets_a_tcp_descriptor_of_the_one_listening_socket() -> None:
    listeners = BalancedListeners("127.0.0.1", 0)
    try:
        sockets = [listeners.for_worker(index) for index in range(3)]
        assert len({sock.fileno() for sock in sockets}) == 3
        assert {sock.getsockname() for sock in sockets} == {
            listeners.listening.getsockname()}
        assert [sock.slot for sock in sockets] == [0, 1, 2]  # type: ignore[attr-defined]
        assert all(sock.proto == socket.IPPROTO_TCP for sock in sockets)
        assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
                   for sock in sockets)
    finally:
        listeners.close()


def _listening_pair() -> tuple[BalancedListeners, BalancedSocket, BalancedSocket]:
    """Two workers' descriptors, both listening (as their workers do once ready), both
    counted as this process."""
    listeners = BalancedListeners("127.0.0.1", 0)
    first, second = listeners.for_worker(0), listeners.for_worker(1)
    for sock in (first, second):
        sock.listen()
        sock.setblocking(False)
    assert isinstance(first, BalancedSocket) and isinstance(second, BalancedSocket)
    return listeners, first, second


def _pending(port: int, count: int) -> list[socket.socket]:
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    time.sleep(0.05)  # the kernel completes the handshakes
    return clients


def test_a_worker_holding_more_connections_leaves_a_new_one_to_the_other() -> None:
    listeners, first, second = _listening_pair()
    clients = _pending(listeners.port, 2)
    try:
        taken, _ = first.accept()
        started = time.monotonic()
        with pytest.raises(BlockingIOError):
            first.accept()  # it holds one, the other none
        other, _ = second.accept()
        assert time.monotonic() - started < 1
        assert [listeners.shares.held(0), listeners.shares.held(1)] == [1, 1]
    finally:
        for sock in (*clients, taken, other):
            sock.close()
        listeners.close()


def test_a_connection_left_to_another_worker_is_taken_after_all_once_it_does_not_come(
        ) -> None:
    listeners, first, _second = _listening_pair()
    clients = _pending(listeners.port, 2)
    try:
        held = [first.accept()[0]]
        deadline = time.monotonic() + 5
        while len(held) < 2 and time.monotonic() < deadline:
            try:
                held.append(first.accept()[0])
            except BlockingIOError:
                continue
        assert len(held) == 2
    finally:
        for sock in (*clients, *held):
            sock.close()
        listeners.close()


def test_a_closed_connection_is_no_longer_counted() -> None:
    listeners, first, _second = _listening_pair()
    clients = _pending(listeners.port, 1)
    try:
        taken, _ = first.accept()
        assert listeners.shares.held(0) == 1
        taken.close()
        taken.close()
        assert listeners.shares.held(0) == 0
    finally:
        for sock in clients:
            sock.close()
        listeners.close()


def test_a_dead_workers_slot_does_not_hold_connections_back() -> None:
    shares = Shares.create(2)
    try:
        subprocess.run([sys.executable, "-c", "from cli.balance import Shares; "
                        f"Shares({shares.path!r}, 2).claim(1)"], cwd=PROJECT_ROOT, check=True)
        shares.claim(0)
        shares.add(0, 3)
        assert shares.fewest_elsewhere(0) is None
    finally:
        shares.remove()


def test_the_default_is_one_worker_per_core_at_most_four() -> None:
    assert default_workers() == max(1, min(os.cpu_count() or 1, 4))


def _workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn's supervisor `pid` started (multiprocessing spawns)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


@contextmanager
def served(tmp_path: Path, *options: str, log: Path | None = None
           ) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`hatchery serve` on a free port with `options`, stopped (all its processes) after;
    its standard error goes to `log` when given."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
           "HATCHERY_DATA_DIR": str(tmp_path), "HATCHERY_WORKFLOWS_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (log.open("wb") if log is not None else open(os.devnull, "wb")) as errors:
        server = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port",
             str(port), *options], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        try:
            yield server, port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def answers(server: subprocess.Popen[bytes], url: str, times: int = 1) -> int:
    """GET `url` on new connections until it answered 200 `times` (60 s at most)."""
    done, deadline = 0, time.monotonic() + 60
    while done < times and time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            with httpx.Client(timeout=5) as client:
                assert client.get(url).status_code == 200
            done += 1
        except httpx.TransportError:
            time.sleep(0.05)
    return done


def test_serve_with_two_workers_runs_two_processes_that_answer(tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 10) == 10
        assert len(_workers_of(server.pid)) == 2


def test_each_request_has_one_access_line_the_apps_not_uvicorns_too(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with served(tmp_path, "--workers", "1", log=log) as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 3) == 3
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if "hatchery.request: GET /healthz 200" in line]) == 3
    assert not [line for line in lines if "uvicorn.access" in line]


def test_the_metrics_port_serves_every_workers_counts_without_a_token(
        tmp_path: Path) -> None:
    metrics_port = _free_port()
    with served(tmp_path, "--workers", "2", "--metrics-port", str(metrics_port)) as (
            server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 6) == 6
        assert answers(server, f"http://127.0.0.1:{metrics_port}/metrics") == 1
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    healthz = [line for line in text.splitlines() if line.startswith(
        'hatchery_http_requests_total{') and 'route="/healthz"' in line]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in healthz) == 6
    assert "hatchery_store_up 1.0" in text


def test_a_request_too_malformed_to_reach_the_app_is_answered_with_a_problem(
        tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "1") as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        for raw in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    b"NOT A REQUEST LINE\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(raw)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400"), answer
            assert b"content-type: application/problem+json" in head.lower()
            problem = json.loads(body)
            assert problem["status"] == 400 and problem["code"] == "malformed_request"


def _tcp_sockets(port: int, state: str) -> dict[int, int]:
    """inode -> remote port of this host's TCP sockets on local `port` in `state` (hex:
    "0A" listening, "01" established), from /proc/net/tcp."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, st, inode = fields[1], fields[2], fields[3], int(fields[9])
        if int(local.split(":")[1], 16) == port and st == state:
            found[inode] = int(remote.split(":")[1], 16)
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _two_workers(server: subprocess.Popen[bytes], port: int, besides: tuple[int, ...] = ()
                 ) -> list[int]:
    """The supervisor's two workers (none of `besides`) once both listen on `port` (a
    worker listens once it is ready, and then counts itself in the workers' shared
    counts, `cli.balance.Shares`), 60 s at most."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [pid for pid in _workers_of(server.pid) if pid not in besides]
        if (len(workers) == 2 and len(_tcp_sockets(port, "0A")) == 1
                and set(workers) <= listening_workers(server.pid)):
            return workers
        time.sleep(0.1)
    raise AssertionError(f"workers: {_workers_of(server.pid)}")


def _accepted_by(port: int, workers: list[int], connections: int = 32) -> dict[int, int]:
    """Open `connections` connections to `port` at once, then get /healthz on each, and
    count the connections each worker accepted (its process holds the server's end, looked
    up right after the answer, before the keep-alive timeout closes it)."""
    clients = [socket.create_connection(("127.0.0.1", port), timeout=60)
               for _ in range(connections)]
    accepted = dict.fromkeys(workers, 0)
    try:
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(65536).startswith(b"HTTP/1.1 200")
            ends = {inode for inode, remote in _tcp_sockets(port, "01").items()
                    if remote == client.getsockname()[1]}
            for pid in workers:
                accepted[pid] += len(ends & _socket_inodes(pid))
        return accepted
    finally:
        for client in clients:
            client.close()


def test_connections_arriving_together_are_spread_evenly_over_the_workers(
        tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        workers = _two_workers(server, port)
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        accepted = _accepted_by(port, workers, connections=8)
    assert sum(accepted.values()) == 8
    # A hash of the clients' ports (SO_REUSEPORT) splits 8 connections 6:2 or worse about
    # one time in three; counted, they differ by one at most unless a worker was kept
    # from accepting for a whole PATIENCE.
    assert max(accepted.values()) - min(accepted.values()) <= 2, accepted


def test_every_worker_accepts_on_the_one_listening_socket(tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        workers = _two_workers(server, port)
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        listening = set(_tcp_sockets(port, "0A"))
        held = [listening & _socket_inodes(pid) for pid in workers]
    assert len(listening) == 1
    assert held == [listening, listening]


def test_a_killed_worker_is_replaced_and_the_replacement_serves(tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        workers = _two_workers(server, port)
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        dead, kept = workers
        os.kill(dead, signal.SIGKILL)
        now = _two_workers(server, port, besides=(dead,))
        replacement = next(pid for pid in now if pid != kept)
        assert set(_tcp_sockets(port, "0A")) <= _socket_inodes(replacement)
        accepted = _accepted_by(port, [replacement, kept])
    assert accepted[replacement] > 0 and sum(accepted.values()) == 32


def _refusal(tmp_path: Path, port: int) -> str:
    """Standard error of `hatchery serve --workers 2` on `port`, which must exit refused."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}",
           "HATCHERY_DATA_DIR": str(tmp_path), "HATCHERY_WORKFLOWS_DIR": str(tmp_path),
           "COLUMNS": "200"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    second = subprocess.run(
        [sys.executable, "-c", "from cli.main import app; app()", "serve", "--port",
         str(port), "--workers", "2"], cwd=PROJECT_ROOT, env=env, capture_output=True,
        timeout=60, check=False)
    assert second.returncode == 2
    return second.stderr.decode()


def test_a_second_server_on_the_same_port_is_refused_naming_host_and_port(
        tmp_path: Path) -> None:
    with served(tmp_path, "--workers", "2") as (server, port):
        assert answers(server, f"http://127.0.0.1:{port}/healthz") == 1
        error = _refusal(tmp_path, port)
        assert answers(server, f"http://127.0.0.1:{port}/healthz", 4) == 4
    assert f"--host/--port: cannot listen on 127.0.0.1:{port}: Address already in use" in error


def test_a_port_another_program_listens_on_is_refused_naming_host_and_port(
        tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        error = _refusal(tmp_path, port)
    assert f"--host/--port: cannot listen on 127.0.0.1:{port}: Address already in use" in error
