"""Workflow definitions: every version ever loaded is kept; compiled ones are shared.

The database holds each (workflow id, version) once, with its source text and content
hash, so that a case keeps running on the definition it started with long after a newer
one was shipped, in this process or any other. `sync_directory` registers the shipped
`workflows/*.yaml` at start and on every reload; a file whose text is unchanged registers
nothing, a new version is added, and a changed text under an already registered version is
not loaded (the cases running on that version would silently change their rules). A bad
file never stops the others: each is reported with its located diagnostics in
`rejected` (and the log), and the service runs with every good definition.

A version may be retired: no new case starts on it, the cases running on it continue. A
workflow all of whose versions are retired is no longer listed.

Compiled workflows are cached by (id, version): compiled once, on first use, and shared by
every case and thread (they are immutable). A process that did not load a file itself
compiles the stored text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.clock import Clock, SystemClock
from engine.core.compiler import CompiledWorkflow, compile_workflow, content_hash
from engine.definitions.loader import load_file, load_text
from engine.errors import DefinitionError, NotFound
from engine.language.diagnostics import Diagnostic, render
from engine.language.spec import version_key
from engine.store.db import read_connection, write_connection
from engine.store.operations import record_in
from engine.store.tables import DEFINITIONS

__all__ = ["Definition", "Rejection", "WorkflowRegistry", "version_key"]

_definitions = DEFINITIONS
_log = logging.getLogger("hatchery.workflows")


@dataclass(frozen=True)
class Definition:
    """One stored workflow version (without compiling it)."""

    id: str
    version: str
    content_hash: str
    source_text: str
    source_path: str | None
    loaded_at: datetime
    retired_at: datetime | None = None
    retired_by: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A definition file that is not loaded, and every diagnostic saying why."""

    path: str
    diagnostics: tuple[Diagnostic, ...]


class WorkflowRegistry:
    """Stored workflow versions and a shared cache of their compiled form."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._compiled: dict[tuple[str, str], CompiledWorkflow] = {}
        self._lock = threading.Lock()
        self.rejected: dict[str, Rejection] = {}
        """Files of the last `sync_directory` that are not loaded, by path."""

    # -- registering ---------------------------------------------------------------------

    def sync_directory(self, directory: str | Path) -> list[Definition]:
        """Register every good `*.yaml` under `directory`; return the versions newly added.

        Each file stands alone: an invalid file, or one that changes the text of an
        already registered version, is recorded in `rejected` with its diagnostics and
        logged, and every other file is still registered.
        """
        rejected: dict[str, Rejection] = {}
        added: list[Definition] = []
        for path in sorted(Path(directory).glob("*.yaml")):
            result = load_file(path)
            problems = tuple(d for d in result.diagnostics if d.severity == "error")
            if not problems and result.compiled is not None:
                problems = self._changed_version(result.compiled, result.text, str(path))
            if problems or result.compiled is None:
                rejected[str(path)] = Rejection(str(path), problems)
                continue
            with write_connection(self._engine) as connection:
                definition, new = self._store(connection, result.compiled, result.text,
                                              str(path))
            self._remember(result.compiled)
            if new:
                added.append(definition)
        self.rejected = rejected
        for rejection in rejected.values():
            _log.warning("workflow definition not loaded: %s", "; ".join(
                d.format() for d in rejection.diagnostics) or rejection.path)
        return added

    def _changed_version(self, workflow: CompiledWorkflow, text: str, path: str
                         ) -> tuple[Diagnostic, ...]:
        """A diagnostic when `workflow`'s version is registered with other content."""
        stored = self._stored_hash(workflow.id, workflow.version)
        if stored is None or stored == content_hash(text):
            return ()
        found = re.search(r"(?m)^version\s*:", text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        args = {"version": workflow.version, "workflow": workflow.id}
        return (Diagnostic(path, line, 1, "error", "version_changed",
                           render("version_changed", args), args),)

    def _stored_hash(self, workflow_id: str, version: str) -> str | None:
        with read_connection(self._engine) as connection:
            found = connection.execute(
                sa.select(_definitions.c.content_hash).where(
                    _definitions.c.id == workflow_id, _definitions.c.version == version)
            ).scalar()
        return None if found is None else str(found)

    def conflict(self, workflow_id: str, version: str, text: str) -> bool:
        """Whether `version` of `workflow_id` is registered with content other than `text`
        (what an upload of `text` would be refused for)."""
        stored = self._stored_hash(workflow_id, version)
        return stored is not None and stored != content_hash(text)

    def retire(self, workflow_id: str, version: str | None, *, actor: str
               ) -> list[Definition]:
        """Retire one version (or, with None, every version) of a workflow.

        No new case starts on a retired version; cases running on it continue, and can be
        migrated as before. Recorded in the operations log in the same transaction.
        Retiring what is retired already changes nothing and records nothing.
        """
        now = self._clock.now()
        where = [_definitions.c.id == workflow_id]
        if version is not None:
            where.append(_definitions.c.version == version)
        with write_connection(self._engine) as connection:
            rows = connection.execute(sa.select(_definitions).where(*where)).mappings().all()
            if not rows:
                raise NotFound("workflow version" if version else "workflow",
                               f"{workflow_id}@{version}" if version else workflow_id)
            fresh = sorted((r["version"] for r in rows if r["retired_at"] is None),
                           key=version_key)
            if fresh:
                connection.execute(
                    sa.update(_definitions).where(
                        *where, _definitions.c.version.in_(fresh),
                        _definitions.c.retired_at.is_(None))
                    .values(retired_at=now, retired_by=actor[:200]))
                record_in(connection, actor=actor, action="definition_retire", at=now,
                          target=workflow_id, detail={"versions": fresh})
        return [self.definition(workflow_id, v) for v in fresh]

    def register_text(self, text: str, path: str = "<string>", *,
                      actor: str | None = None) -> Definition:
        """Register one definition text; returns the stored version (new or existing).

        With `actor` (an upload), the operations log records it in the same transaction.
        """
        compiled = self._compile(text, path)
        with write_connection(self._engine) as connection:
            definition, _ = self._store(connection, compiled, text, path)
            if actor is not None:
                record_in(connection, actor=actor, action="definition_upload",
                          at=self._clock.now(), target=definition.id,
                          detail={"version": definition.version,
                                  "content_hash": definition.content_hash})
        self._remember(compiled)
        return definition

    def register_texts(self, sources: Iterable[tuple[str, str]]) -> list[Definition]:
        """Register several `(text, path)` at once, all or none; return the new ones."""
        compiled: list[tuple[CompiledWorkflow, str, str]] = []
        problems: list[Any] = []
        for text, path in sources:
            try:
                compiled.append((self._compile(text, path), text, path))
            except DefinitionError as error:
                problems.extend(error.diagnostics or [str(error)])
        if problems:
            shown = "; ".join(_problem_text(p) for p in problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise DefinitionError(
                f"{len(problems)} problem(s) in the workflow definitions: {shown}{more}",
                problems)
        added: list[Definition] = []
        with write_connection(self._engine) as connection:
            for workflow, text, path in compiled:
                definition, new = self._store(connection, workflow, text, path)
                if new:
                    added.append(definition)
        for workflow, _, _ in compiled:
            self._remember(workflow)
        return added

    def _compile(self, text: str, path: str) -> CompiledWorkflow:
        result = load_text(text, path)
        if not result.ok or result.spec is None:
            errors = [d for d in result.diagnostics if d.severity == "error"]
            raise DefinitionError(
                f"{path}: the workflow definition is invalid"
                + (f": {errors[0].format()}" if errors else ""),
                errors,
            )
        compiled = getattr(result, "compiled", None)
        if compiled is None:
            compiled = compile_workflow(result.spec, text)
        assert isinstance(compiled, CompiledWorkflow)
        return compiled

    def _store(self, connection: Connection, workflow: CompiledWorkflow, text: str,
               path: str) -> tuple[Definition, bool]:
        digest = content_hash(text)
        row = connection.execute(
            sa.select(_definitions).where(_definitions.c.id == workflow.id,
                                          _definitions.c.version == workflow.version)
        ).mappings().first()
        if row is not None:
            if row["content_hash"] != digest:
                raise DefinitionError(
                    f"{path}: workflow '{workflow.id}' version {workflow.version} is already "
                    "registered with different content; raise its version to register the "
                    "change (cases running on it keep the rules they started with)",
                    [f"{path}: version {workflow.version} of '{workflow.id}' changed"],
                )
            return _definition(row), False
        definition = Definition(workflow.id, workflow.version, digest, text, path,
                                self._clock.now())
        connection.execute(sa.insert(_definitions).values(
            id=definition.id, version=definition.version, content_hash=digest,
            source_text=text, source_path=path, loaded_at=definition.loaded_at))
        return definition, True

    def _remember(self, workflow: CompiledWorkflow) -> None:
        """Cache a workflow whose text is committed (the first compiled copy wins)."""
        with self._lock:
            self._compiled.setdefault((workflow.id, workflow.version), workflow)

    # -- reading -------------------------------------------------------------------------

    def get(self, workflow_id: str, version: str | None = None) -> CompiledWorkflow:
        """The compiled workflow (latest version when `version` is None); `NotFound` else."""
        if version is None:
            version = self.latest_version(workflow_id)
        key = (workflow_id, version)
        found = self._compiled.get(key)
        if found is not None:
            return found
        definition = self.definition(workflow_id, version)
        compiled = self._compile(definition.source_text, definition.source_path or "<stored>")
        with self._lock:
            return self._compiled.setdefault(key, compiled)

    def latest_version(self, workflow_id: str) -> str:
        """The highest version of `workflow_id` in use (semantic version order): the one
        new cases start on. Retired versions are passed over."""
        with read_connection(self._engine) as connection:
            versions = connection.execute(
                sa.select(_definitions.c.version).where(_definitions.c.id == workflow_id,
                                                        _definitions.c.retired_at.is_(None))
            ).scalars().all()
        if not versions:
            raise NotFound("workflow", workflow_id)
        return str(max(versions, key=version_key))

    def definition(self, workflow_id: str, version: str) -> Definition:
        """One stored version, with its source text."""
        with read_connection(self._engine) as connection:
            row = connection.execute(
                sa.select(_definitions).where(_definitions.c.id == workflow_id,
                                              _definitions.c.version == version)
            ).mappings().first()
        if row is None:
            raise NotFound("workflow version", f"{workflow_id}@{version}")
        return _definition(row)

    def versions(self, workflow_id: str) -> list[Definition]:
        """Every stored version of `workflow_id`, oldest version first."""
        with read_connection(self._engine) as connection:
            rows = connection.execute(
                sa.select(_definitions).where(_definitions.c.id == workflow_id)
            ).mappings().all()
        return sorted((_definition(r) for r in rows), key=lambda d: version_key(d.version))

    def definitions(self) -> list[Definition]:
        """The latest version in use of every workflow not wholly retired, by id."""
        with read_connection(self._engine) as connection:
            rows = connection.execute(
                sa.select(_definitions).where(_definitions.c.retired_at.is_(None))
            ).mappings().all()
        latest: dict[str, Definition] = {}
        for row in rows:
            found = _definition(row)
            current = latest.get(found.id)
            if current is None or version_key(found.version) > version_key(current.version):
                latest[found.id] = found
        return [latest[k] for k in sorted(latest)]


def _problem_text(problem: Any) -> str:
    formatted = getattr(problem, "format", None)
    return str(formatted()) if callable(formatted) else str(problem)


def _definition(row: Any) -> Definition:
    return Definition(row["id"], row["version"], row["content_hash"], row["source_text"],
                      row["source_path"], row["loaded_at"], row.get("retired_at"),
                      row.get("retired_by"))
