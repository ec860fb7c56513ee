"""The names people see for communities: a directory from community path to its zh and en
names, read from a small YAML file the operator keeps (`HATCHERY_COMMUNITIES_FILE`, by
default `communities.yaml` beside the workflows).

A community is stored, scoped and queried by its path (`fuzhou/cangshan/jinshan/jinzhou`):
an id that no community worker should have to read. Pages show its name instead (金州社区),
with the names of the district and street above it as the longer title. A path the
directory does not know is shown by its last segment, the whole path kept as the title, so
a missing entry degrades to something short rather than to an error.

The file is one mapping, path -> names:

    fuzhou/cangshan/jinshan/jinzhou:
      zh: 金州社区
      en: Jinzhou Community

`zh` is required; `en` falls back to `zh`. A bad file is refused as a whole with every
problem named by its path (`CommunityFileError`), so a typo never leaves half a directory.
The directory follows the file: `CommunityBook.current()` reloads it when it changes,
keeping the last good one (and saying why) when the new text is bad.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from engine.access.principals import ALL_COMMUNITIES, in_scope, valid_community

__all__ = ["CommunityBook", "CommunityDirectory", "CommunityFileError", "CommunityName",
           "parse_directory"]

logger = logging.getLogger(__name__)
MAX_NAME = 100


@dataclass(frozen=True)
class CommunityName:
    """One community's names in the two languages of the console."""

    zh: str
    en: str

    def in_language(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class CommunityFileError(ValueError):
    """The directory file could not be read; `problems` name each bad entry by its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class CommunityDirectory:
    """Community path -> names; answers a name for every path, known or not."""

    names: Mapping[str, CommunityName]

    def name(self, path: str, lang: str) -> str:
        """The community's own name, or its last path segment when the directory lacks it."""
        known = self.names.get(path)
        if known is not None:
            return known.in_language(lang)
        return path.rstrip("/").rsplit("/", 1)[-1] or path

    def full_name(self, path: str, lang: str) -> str:
        """The names from the district down (`仓山区 金山街道 金州社区`): the longer title of a
        known community; the path itself for one the directory does not know."""
        if path not in self.names:
            return path
        parts = path.split("/")
        known = [self.names[prefix].in_language(lang)
                 for prefix in ("/".join(parts[:n]) for n in range(1, len(parts) + 1))
                 if prefix in self.names]
        return " ".join(known)

    def within(self, scope: str) -> list[str]:
        """The known communities inside `scope` (a path or `*`), in path order."""
        return sorted(path for path in self.names if in_scope(scope, path))


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_directory(text: str, source: str = "communities.yaml") -> CommunityDirectory:
    """The directory in `text`; `CommunityFileError` naming every bad entry otherwise."""
    try:
        loaded = YAML(typ="safe", pure=True).load(io.StringIO(text))
    except YAMLError as exc:
        raise CommunityFileError(source, [f"not readable as YAML: {exc}"]) from None
    if loaded is None:
        return CommunityDirectory({})
    if not isinstance(loaded, dict):
        raise CommunityFileError(source, ["must be a mapping of community path -> names"])
    names: dict[str, CommunityName] = {}
    problems: list[str] = []
    for path, entry in loaded.items():
        if not isinstance(path, str) or path == ALL_COMMUNITIES or not valid_community(path):
            problems.append(f"{path!r} is not a community path such as fuzhou/cangshan")
            continue
        if isinstance(entry, str):
            entry = {"zh": entry}
        zh = _text(entry.get("zh")) if isinstance(entry, dict) else None
        en = _text(entry.get("en")) if isinstance(entry, dict) else None
        if zh is None:
            problems.append(f"{path}: needs a zh name (zh: 金州社区)")
            continue
        if len(zh) > MAX_NAME or (en is not None and len(en) > MAX_NAME):
            problems.append(f"{path}: a name longer than {MAX_NAME} characters")
            continue
        names[path] = CommunityName(zh=zh, en=en or zh)
    if problems:
        raise CommunityFileError(source, problems)
    return CommunityDirectory(names)


class CommunityBook:
    """The directory of one file, reloaded when the file changes (checked at most once a
    second): pages ask `current()` and never see a half-read file. A missing file is an
    empty directory; a bad file at start raises, a bad file later keeps the last good one."""

    def __init__(self, path: Path | None, *, check_every: float = 1.0) -> None:
        self._path = path
        self._check_every = check_every
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        self._directory = CommunityDirectory({})
        self._reload(strict=True)

    def _file_stamp(self) -> tuple[float, int] | None:
        if self._path is None:
            return None
        try:
            found = self._path.stat()
        except OSError:
            return None
        return (found.st_mtime, found.st_size)

    def _reload(self, *, strict: bool) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None or self._path is None:
            self._directory = CommunityDirectory({})
            return
        try:
            self._directory = parse_directory(self._path.read_text(encoding="utf-8"),
                                              str(self._path))
        except (OSError, UnicodeDecodeError) as exc:
            error = CommunityFileError(str(self._path), [f"cannot be read: {exc}"])
            if strict:
                raise error from None
            logger.error("community names kept as they were: %s", error)
        except CommunityFileError as exc:
            if strict:
                raise
            logger.error("community names kept as they were: %s", exc)

    def current(self, now: float | None = None) -> CommunityDirectory:
        moment = time.monotonic() if now is None else now
        if moment - self._checked >= self._check_every:
            with self._lock:
                self._checked = moment
                self._reload(strict=False)
        return self._directory
