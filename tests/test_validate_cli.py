"""`hatchery validate`: every problem of every file in one run, a summary, an exit status."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "fixtures" / "broken"
SHIPPED = ROOT / "workflows" / "social_org_incubation.yaml"
LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): .+$")

runner = CliRunner()


def run(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output.splitlines()


def test_a_valid_file_passes_with_a_summary() -> None:
    code, lines = run(str(SHIPPED))
    assert (code, lines) == (0, ["1 file, 0 errors, 0 warnings"])


def test_every_problem_of_every_file_is_printed_sorted_then_a_summary() -> None:
    files = [BROKEN / "unknown_state.yaml", BROKEN / "duplicate_timer.yaml", SHIPPED]
    code, lines = run(*map(str, files))
    assert code == 1
    problems, summary = lines[:-1], lines[-1]
    assert summary == "3 files, 4 errors, 0 warnings"
    keys = []
    for line in problems:
        match = LINE.match(line)
        assert match, line
        keys.append((match["path"], int(match["line"]), int(match["column"])))
    assert keys == sorted(keys)
    assert f"{BROKEN / 'duplicate_timer.yaml'}:11:13: error: timer id 'remind'" in problems[0]


def test_warnings_alone_pass_unless_strict() -> None:
    path = str(BROKEN / "guard_without_refusal.yaml")
    code, lines = run(path)
    assert code == 0
    assert lines[0].startswith(f"{path}:15:5: warning: ")
    assert lines[-1] == "1 file, 0 errors, 1 warning"
    code, lines = run("--strict", path)
    assert code == 1
    assert lines[0].startswith(f"{path}:15:5: error: ")
    assert lines[-1] == "1 file, 1 error, 0 warnings"


def test_messages_and_summary_in_chinese() -> None:
    code, lines = run("--lang", "zh", str(BROKEN / "unknown_state.yaml"))
    assert code == 1
    assert "error: 没有名为“confirmaton”的状态；是不是“confirmation”？" in lines[0]
    assert lines[-1] == "1 个文件，3 个错误，0 个警告"


def test_a_missing_file_and_a_binary_file_are_reported_not_raised(tmp_path: Path) -> None:
    binary = tmp_path / "picture.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    code, lines = run(str(tmp_path / "missing.yaml"), str(binary))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'missing.yaml'}:1:1: error: the file does not exist",
        f"{binary}:1:1: error: the file is not UTF-8 text (the byte at this place cannot be "
        "read); save it as UTF-8",
        "2 files, 2 errors, 0 warnings",
    ]


def test_a_folder_stands_for_its_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a workflow", encoding="utf-8")
    code, lines = run(str(tmp_path))
    assert (code, lines) == (0, ["1 file, 0 errors, 0 warnings"])
    empty = tmp_path / "empty"
    empty.mkdir()
    code, lines = run(str(empty))
    assert code == 1
    assert "the folder holds no .yaml files" in lines[0]


def test_a_real_run_of_the_installed_command_never_shows_a_traceback(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "hatchery"
    assert command.exists(), "the console script is installed with the package"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    files = sorted(str(p) for p in BROKEN.glob("*.yaml"))
    completed = subprocess.run(
        [str(command), "validate", "--lang", "zh", *files, str(binary),
         str(tmp_path / "missing.yaml"), str(SHIPPED)],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stderr == ""
    lines = completed.stdout.splitlines()
    assert all(LINE.match(line) for line in lines[:-1])
    assert re.fullmatch(r"\d+ 个文件，\d+ 个错误，\d+ 个警告", lines[-1])
    assert lines[-1].startswith(f"{len(files) + 3} 个文件")
    reported = {LINE.match(line)["path"] for line in lines[:-1]}  # type: ignore[index]
    assert reported == {*files, str(binary), str(tmp_path / "missing.yaml")}


def test_a_real_run_passes_on_the_shipped_workflows() -> None:
    command = Path(sys.executable).parent / "hatchery"
    completed = subprocess.run(
        [str(command), "validate", *sorted(str(p) for p in (ROOT / "workflows").glob("*.yaml"))],
        capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout
    assert re.fullmatch(r"\d+ files?, 0 errors, \d+ warnings?", completed.stdout.splitlines()[-1])
