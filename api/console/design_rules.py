"""What a designer reads about a workflow's conditions and deadlines: for each guard and
each timer, what the definition itself says (the step's title, the refusal people see,
the length in words as the diagram writes it) and the rule behind it, as
`docs/workflows.md` states it in its "Rules enforced" tables (the page the docs generator
keeps beside the YAML: one text, not a second one here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from api.console.i18n import role_title, text
from engine.contrib.diagram import timer_phrase
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import as_text
from engine.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "workflows.md"
_SECTION = re.compile(r"^## .*\(`([a-z][a-z0-9_]*)`\)\s*$")
_NAME = re.compile(r"`([a-z][a-z0-9_]*)`")
_KINDS = (("central", "doc.central"), ("local", "doc.local"), ("source", "doc.source"))


@dataclass(frozen=True)
class DocRule:
    """One row of a workflow's "Rules enforced" table."""

    checks: str
    rule: str


@lru_cache(maxsize=4)
def _rules(path: Path, stamp: float) -> dict[str, dict[str, list[DocRule]]]:
    found: dict[str, dict[str, list[DocRule]]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = _SECTION.match(line)
        if heading:
            current = heading.group(1)
            continue
        if current is None or not line.startswith("| ") or line.startswith("| where"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 3:
            continue
        row = DocRule(cells[1].replace("\\|", "|").replace("`", ""),
                      cells[2].replace("\\|", "|").replace("`", ""))
        for name in _NAME.findall(cells[0]):
            found.setdefault(current, {}).setdefault(name, []).append(row)
    return found


def doc_rules(workflow_id: str, path: Path = DOC) -> dict[str, list[DocRule]]:
    """The documented rules of a workflow by the names they mention (empty without docs)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    return _rules(path, stamp).get(workflow_id, {})


def rule_kind(rule: str, lang: str) -> str:
    """`central: ...` -> `中央规定：...` (the rule itself stays as the docs write it)."""
    for prefix, key in _KINDS:
        if rule.startswith(prefix):
            rest = rule[len(prefix):].lstrip(" :")
            return f"{text(key, lang)}{'：' if lang == 'zh' else ': '}{rest}"
    return rule


@dataclass
class GuardView:
    title: str
    moves: str
    roles: str
    automatic: bool
    refusals: list[str]
    expressions: list[str]
    rules: list[DocRule] = field(default_factory=list)


@dataclass
class TimerView:
    stage: str
    title: str
    length: str
    does: str
    rules: list[DocRule] = field(default_factory=list)


def guards(wf: CompiledWorkflow, lang: str) -> list[GuardView]:
    """Every step with a condition, in the definition's order."""
    documented = doc_rules(wf.id)
    found = []
    for t in wf.spec.transitions:
        expressions = [t.guard] if t.guard else []
        refusals = [as_text(t.refusal, lang)] if t.refusal else []
        for condition in t.conditions:
            expressions.append(condition.guard)
            if condition.refusal:
                refusals.append(as_text(condition.refusal, lang))
        if not expressions:
            continue
        sources = t.source if isinstance(t.source, list) else [t.source]
        moves = text("event.from_to", lang,
                     from_="、".join(_state(wf, s, lang) for s in sources),
                     to=_state(wf, t.to, lang))
        roles = "、".join(role_title(r, lang) for r in t.roles) or text("rules.any_role", lang)
        found.append(GuardView(as_text(t.title, lang, t.trigger), moves, roles, t.automatic,
                               [r for r in refusals if r], [str(e) for e in expressions],
                               documented.get(t.trigger, [])))
    return found


def timers(wf: CompiledWorkflow, lang: str) -> list[TimerView]:
    """Every deadline and periodic timer, by the stage that arms it."""
    documented = doc_rules(wf.id)
    found = []
    for sid, info in wf.states.items():
        for timer in info.spec.timers:
            does = []
            for action in timer.actions:
                if action == "fire" and timer.trigger:
                    does.append(text("timers.fires", lang, step=as_text(
                        wf.trigger_titles.get(timer.trigger), lang, timer.trigger)))
                elif action in ("mark_overdue", "escalate"):
                    does.append(text(f"timers.{action}", lang))
            length = timer_phrase(timer, wf.spec, "zh" if lang == "zh" else "en")
            if timer.repeat:
                length += text("timers.repeat", lang)
            rules = list(documented.get(timer.id, []))
            if timer.trigger:
                rules += [r for r in documented.get(timer.trigger, []) if r not in rules]
            found.append(TimerView(_state(wf, sid, lang), as_text(timer.title, lang, timer.id),
                                   length, "；".join(does), rules))
    return found


def _state(wf: CompiledWorkflow, sid: str, lang: str) -> str:
    info = wf.states.get(sid)
    return as_text(info.spec.title, lang, sid) if info else sid
