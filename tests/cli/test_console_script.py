"""The console script builds only the command it is asked for; the whole app stays what --help lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from logchat.cli.app import COMMAND_MODULES, build_app, command_named


def _names(app: typer.Typer) -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_each_command_is_built_from_the_module_that_the_table_names() -> None:
    for command, module in COMMAND_MODULES.items():
        same_module = {name for name, owner in COMMAND_MODULES.items() if owner == module}
        assert _names(build_app(command)) == same_module, command


def test_the_whole_app_has_every_command_of_every_module_and_no_other() -> None:
    assert _names(build_app()) == set(COMMAND_MODULES)
    assert _names(build_app("no-such-command")) == set(COMMAND_MODULES)


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["ask", "why?"], "ask"),
        (["--data-dir", "stat", "ask"], "ask"),  # a directory called stat
        (["-c", "x.toml", "--quiet", "users", "list"], "users"),
        (["--config=x.toml", "--debug", "db", "copy"], "db"),
        (["--database-url", "sqlite:///x", "-q", "reload"], "reload"),
        (["--help"], None),
        (["--version"], None),
        ([], None),
        (["--", "ask"], None),
    ],
)
def test_the_command_is_the_first_word_that_is_not_an_option_or_its_value(args: list[str], command: str | None) -> None:
    assert command_named(args) == command


def test_the_console_script_runs_a_command_lists_all_and_rejects_an_unknown_one(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "logchat", "--data-dir", str(tmp_path / "store")]
    listed = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in COMMAND_MODULES)

    stat = subprocess.run([*run, "stat", "--json"], capture_output=True, text=True, timeout=60)
    assert stat.returncode == 0, stat.stderr
    assert '"total": 0' in stat.stdout

    unknown = subprocess.run([*run, "sta"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2
    assert "No such command 'sta'" in unknown.stderr


_FROZEN_AT_EXIT = """
import atexit, gc, sys
from logchat.cli.app import main
# Registered first, so it runs last: after the command's own exit handlers, as the interpreter shuts down.
atexit.register(lambda: print("frozen", gc.get_freeze_count(), file=sys.stderr))
sys.argv = ["logchat", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("failing", [False, True])
def test_the_objects_a_command_leaves_are_frozen_before_the_interpreter_shuts_down(
    tmp_path: Path, failing: bool
) -> None:
    # What is alive when a command ends is never collected by the shutdown's collection: frozen, whether the
    # command succeeded or failed, with its exit code kept.
    args = ["index", str(tmp_path / "missing.log")] if failing else ["stat", "--json"]
    run = subprocess.run([sys.executable, "-c", _FROZEN_AT_EXIT, "--data-dir", str(tmp_path / "store"), *args],
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode != 0) is failing, run.stderr
    frozen = int(run.stderr.rsplit("frozen ", 1)[1].split()[0])
    assert frozen > 10_000
