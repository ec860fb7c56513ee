"""Reloading the workflows folder while the service runs.

A designer who edits `workflows/` should not have to restart the service. A `FolderWatch`
looks at the folder's files (names, sizes, modification times) every few seconds and,
when anything changed, registers it again through `WorkflowRegistry.sync_directory`: a
new version becomes the latest, a file whose text changed under a registered version is
reported and not loaded, a broken file is reported with its diagnostics. `SIGHUP` asks
for a reload at once (`kill -HUP <pid>`), and `hatchery workflows reload` does the same
from the command line against the same database.

Polling rather than inotify: it works the same on every platform and on network and
container mounts, and a folder of a few dozen small files costs microseconds to scan.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from engine.definitions.registry import WorkflowRegistry

__all__ = ["FolderWatch", "folder_signature"]

_log = logging.getLogger("hatchery.workflows")


def folder_signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What identifies the folder's current definitions: each file's name, size and time."""
    found: list[tuple[str, int, int]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            info = path.stat()
        except OSError:
            continue
        found.append((path.name, info.st_size, info.st_mtime_ns))
    return tuple(found)


class FolderWatch:
    """Re-registers the workflows folder when it changes, or when asked (SIGHUP)."""

    def __init__(self, registry: WorkflowRegistry, directory: Path,
                 interval_s: float = 2.0) -> None:
        self.registry = registry
        self.directory = Path(directory)
        self.interval_s = interval_s
        self._seen = folder_signature(self.directory)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._force = False
        self._thread: threading.Thread | None = None

    def check(self, *, force: bool = False) -> bool:
        """Reload if the folder changed since last seen (or `force`); whether it did."""
        current = folder_signature(self.directory)
        if current == self._seen and not force:
            return False
        self._seen = current
        try:
            added = self.registry.sync_directory(self.directory)
        except Exception:  # a reload must never take the service down
            _log.exception("reloading %s failed", self.directory)
            return False
        for definition in added:
            _log.warning("workflow %s version %s registered from %s", definition.id,
                         definition.version, definition.source_path)
        return True

    def start(self) -> None:
        """Watch in a daemon thread; a SIGHUP to the process reloads at once."""
        self._thread = threading.Thread(target=self._run, name="workflows-watch", daemon=True)
        self._thread.start()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self._on_signal)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def request(self) -> None:
        """Ask the watching thread to reload now."""
        self._force = True
        self._wake.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            force, self._force = self._force, False
            self.check(force=force)
