"""Bilingual message catalogues: the one way Hatchery keys, writes, fills and chooses the
words people read, in Chinese and English.

Every text a person may read (a designer's diagnostic, a refusal, an API problem, a CLI
line, a console label) is an entry of a `Catalogue`: a named table from a stable key
(what code and tests match on) to the message in both languages (`Words`). A table is
written as pairs in the order its authors read best, declared once when it is built
(`Catalogue.en_zh`, `Catalogue.zh_en`); after that every catalogue is used the same way:

- `catalogue.text(key, lang, **args)`: the message in one language, for a reader whose
  language is known;
- `catalogue.words(key, **args)`: the message filled in both languages, for a result that
  is shown later to whoever asks (a refusal, a problem document, an exported file).

Placeholders are `str.format` fields (`{state}`); both languages of an entry name the same
ones (a test checks every catalogue). Filling follows one set of rules (`fill`): an
argument that is itself prose is given as `Words` and shown in the message's language; a
list is joined as each language joins one (`、` / `, `); a value quoted in Chinese
(“{name}”) that has quotes of its own shows them as single quotes, as quotes within
quotes are written (GB/T 15834). Filling never raises: a template whose arguments are
missing is shown with them appended, so a slip of ours is visible but never a 500.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("zh", "en")


def lang_of(value: object, default: Lang = "en") -> Lang:
    """`zh` or `en` from what a caller passed (anything else is `default`)."""
    if value == "zh" or value == "en":
        return value
    return default


@dataclass(frozen=True)
class Words:
    """A message, or a fragment of one, in both languages."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def fill(template: str, lang: str, args: Mapping[str, Any]) -> str:
    """`template` (in `lang`) with its placeholders filled by `args`, by the rules above."""
    if not args:
        return template
    values = {name: shown(value, lang) for name, value in args.items()}
    if lang == "zh":
        values = {name: _inner_quotes(value) if f"“{{{name}}}”" in template else value
                  for name, value in values.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return f"{template} {values}"


def shown(value: Any, lang: str) -> Any:
    """An argument as it reads in `lang`: `Words` in that language, a list joined."""
    if isinstance(value, Words):
        return value.get(lang)
    if isinstance(value, list | tuple):
        separator = "、" if lang == "zh" else ", "
        return separator.join(str(shown(v, lang)) for v in value)
    return value


def _inner_quotes(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return value.replace("“", "‘").replace("”", "’")


def placeholders(template: str) -> frozenset[str]:
    """The names of the placeholders of `template` (`{{` and `}}` are not placeholders)."""
    return frozenset(name.partition(".")[0].partition("[")[0]
                     for _, name, _, _ in string.Formatter().parse(template)
                     if name is not None)


CATALOGUES: dict[str, Catalogue] = {}
"""Every catalogue built, by name (the test that every entry has both languages and the
same placeholders in each reads them all here)."""


class Catalogue(Mapping[str, Words]):
    """A named table of messages: key -> `Words`."""

    def __init__(self, name: str, entries: Mapping[str, Words]) -> None:
        self.name = name
        self._entries = dict(entries)
        CATALOGUES[name] = self

    @classmethod
    def en_zh(cls, name: str, table: Mapping[str, tuple[str, str]]) -> Catalogue:
        """A catalogue written as `key: (English, Chinese)`."""
        return cls(name, {key: Words(en, zh) for key, (en, zh) in table.items()})

    @classmethod
    def zh_en(cls, name: str, table: Mapping[str, tuple[str, str]]) -> Catalogue:
        """A catalogue written as `key: (Chinese, English)`."""
        return cls(name, {key: Words(en, zh) for key, (zh, en) in table.items()})

    def __getitem__(self, key: str) -> Words:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def text(self, key: str, lang: str, /, **args: Any) -> str:
        """The message `key` in `lang`, filled with `args` (KeyError for an unknown key)."""
        return fill(self._entries[key].get(lang), lang, args)

    def words(self, key: str, /, **args: Any) -> Words:
        """The message `key` filled with `args` in both languages."""
        entry = self._entries[key]
        return Words(fill(entry.en, "en", args), fill(entry.zh, "zh", args))

    def texts(self, lang: str) -> dict[str, str]:
        """Every message in `lang`, unfilled (a table's headings, looked up by key)."""
        return {key: words.get(lang) for key, words in self._entries.items()}

    def __repr__(self) -> str:
        return f"Catalogue({self.name!r}, {len(self._entries)} entries)"
