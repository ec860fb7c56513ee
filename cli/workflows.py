"""`hatchery workflows reload|retire`: the workflows folder and the versions in use.

`reload` registers the folder's definitions in the configured database, as the running
service does at start, on a change of the folder and on SIGHUP: a new version becomes
the latest, a file whose text changed under a registered version is reported and not
loaded, a broken file is reported with its diagnostics (exit status 1), the others are
registered all the same. Services on the same database see the new versions at once.

`retire` takes a version (or a whole workflow) out of use: no new case starts on it, the
cases running on it continue; the operations log records who did it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._shell import REFUSED, Language, fail, operator_errors, tolerate_any_terminal
from engine.catalogue import Catalogue
from engine.definitions.registry import WorkflowRegistry
from engine.service import open_store
from engine.settings import Settings

workflows_app = typer.Typer(help="The workflows folder and the versions in use.",
                            no_args_is_help=True)

_WORDS = Catalogue.en_zh("cli.workflows", {
    "added": ("registered: {id} {version} ({path})", "已登记：{id} {version}（{path}）"),
    "none": ("nothing new to register", "没有需要登记的新版本"),
    "rejected": ("not loaded: {path}", "未加载：{path}"),
    "retired": ("retired: {id} {versions}", "已停用：{id} {versions}"),
    "unchanged": ("already retired: nothing changed", "早已停用：未作改动"),
})


def _w(key: str, lang: str, **args: object) -> str:
    return _WORDS.text(key, lang, **args)


def _registry() -> WorkflowRegistry:
    return WorkflowRegistry(open_store(Settings()))


@workflows_app.command("reload")
def reload(
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="The workflows folder (default: HATCHERY_WORKFLOWS_DIR).")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the messages.")
                    ] = Language.en,
) -> None:
    """Register the folder's definitions; report every file that is not loaded."""
    tolerate_any_terminal()
    language = lang.value
    folder = directory or Settings().workflows_dir
    if not folder.is_dir():
        fail(f"{folder}: not a folder")
    with operator_errors(language):
        registry = _registry()
        added = registry.sync_directory(folder)
    for d in added:
        typer.echo(_w("added", language, id=d.id, version=d.version, path=d.source_path))
    if not added:
        typer.echo(_w("none", language))
    for rejection in registry.rejected.values():
        typer.echo(_w("rejected", language, path=rejection.path), err=True)
        for diagnostic in rejection.diagnostics:
            typer.echo("  " + diagnostic.in_language(language).format(), err=True)
    if registry.rejected:
        raise typer.Exit(REFUSED)


@workflows_app.command("retire")
def retire(
    workflow: Annotated[str, typer.Argument(help="The workflow's id.")],
    actor: Annotated[str, typer.Option("--actor", help="Who retires it (recorded).")],
    version: Annotated[str | None, typer.Option(
        "--version", help="Only this version (default: every version).")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the messages.")
                    ] = Language.en,
) -> None:
    """Take a workflow (or one version) out of use; running cases continue."""
    tolerate_any_terminal()
    language = lang.value
    with operator_errors(language):
        retired = _registry().retire(workflow, version, actor=actor)
    if not retired:
        typer.echo(_w("unchanged", language))
        return
    typer.echo(_w("retired", language, id=workflow,
                  versions=", ".join(d.version for d in retired)))
