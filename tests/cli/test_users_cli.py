"""`logchat users` through the real Typer app, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logchat.cli.app import app
from logchat.errors import LogchatError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def run(data_dir: Path, database_url: str):  # type: ignore[no-untyped-def]
    """Invoke `logchat --data-dir D --database-url U ...` with optional stdin."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--data-dir", str(data_dir), "--database-url", database_url, *args], input=input)

    return invoke


@pytest.fixture(scope="module")
def password_hash() -> str:
    from logchat.auth.passwords import PasswordHasher

    return PasswordHasher().hash(PASSWORD)


@pytest.fixture
def admin(store, password_hash: str) -> str:  # type: ignore[no-untyped-def]
    """An admin `ops-admin` in the same store the commands open, hashed once per module (adding
    through the CLI has tests of its own)."""
    from datetime import UTC, datetime

    from logchat.storage import auth_repo
    from logchat.storage.models import User

    now = datetime.now(UTC)
    with store.session() as session:
        auth_repo.add_user(session, User(
            username="ops-admin", password_hash=password_hash, role="admin", enabled=True, token_version=0,
            created_at=now, updated_at=now, password_changed_at=now,
        ))
    return "ops-admin"


def listed(run) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    result = run("users", "list", "--json")
    assert result.exit_code == 0, result.output
    return {user["username"]: user for user in json.loads(result.stdout)}


def test_the_first_admin_is_created_on_a_fresh_store(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "add", "Ops-Admin", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "added user ops-admin (admin)\n"
    assert result.stderr == ""
    users = listed(run)
    assert list(users) == ["ops-admin"]
    assert users["ops-admin"]["role"] == "admin" and users["ops-admin"]["enabled"] is True
    assert "password_hash" not in users["ops-admin"]


def test_add_prompts_twice_and_asks_again_on_a_mismatch(run, admin: str) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "add", "jdoe", input=f"{PASSWORD}\ntypo {PASSWORD}\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert "added user jdoe (viewer)" in result.stdout
    assert listed(run)["jdoe"]["role"] == "viewer"


def test_adding_a_non_admin_to_a_store_without_admin_warns(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "add", "jdoe", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0
    assert "no enabled admin yet" in result.stderr


def test_list_as_text(run, admin: str) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "list")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["USER", "ROLE", "STATUS"]
    assert row.split()[:4] == ["ops-admin", "admin", "enabled", "-"]


def test_list_on_an_empty_store_says_how_to_start(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "list")
    assert result.exit_code == 0
    assert "logchat users add NAME --role admin" in result.stdout
    assert json.loads(run("users", "list", "--json").stdout) == []


def test_set_role_disable_enable_remove(run, admin: str) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "add", "jdoe", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    result = run("users", "set-role", "jdoe", "analyst")
    assert (result.exit_code, result.stdout) == (0, "jdoe is now analyst\n")
    assert run("users", "disable", "jdoe").stdout == "disabled jdoe\n"
    assert listed(run)["jdoe"]["enabled"] is False
    assert run("users", "enable", "JDOE").stdout == "enabled jdoe\n"
    assert listed(run)["jdoe"] == listed(run)["jdoe"] | {"enabled": True, "role": "analyst"}
    assert run("users", "remove", "jdoe").stdout == "removed jdoe\n"
    assert list(listed(run)) == ["ops-admin"]


def test_passwd_sets_a_password_that_signs_in(run, admin: str, store, settings) -> None:  # type: ignore[no-untyped-def]
    from logchat.errors import InvalidCredentials
    from logchat.services.auth import AuthService

    new_password = "an entirely different passphrase"
    result = run("users", "passwd", "ops-admin", input=f"{new_password}\n{new_password}\n")
    assert result.exit_code == 0, result.output
    assert "password changed for ops-admin" in result.stdout
    auth = AuthService(settings, store)
    assert auth.authenticate("ops-admin", new_password).username == "ops-admin"
    with pytest.raises(InvalidCredentials):
        auth.authenticate("ops-admin", PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("users", "disable", "ghost"), None, 1, "logchat: error: no such user: 'ghost'"),
        (("users", "passwd", "ghost", "--password-stdin"), "x\n", 1, "logchat: error: no such user: 'ghost'"),
        (("users", "set-role", "ops-admin", "root"), None, 2,
         "logchat: error: unknown role 'root': choose one of viewer, analyst, admin"),
        (("users", "add", "jdoe", "--password-stdin"), "short\n", 2,
         "logchat: error: password too short: 5 characters, at least 10 required"),
        (("users", "add", "bad name", "--password-stdin"), PASSWORD + "\n", 2,
         "logchat: error: invalid user name 'bad name'"),
        (("users", "add", "jdoe", "--password-stdin"), "", 2,
         "logchat: error: --password-stdin: nothing on standard input"),
        (("users", "remove", "ops-admin"), None, 1,
         "logchat: error: cannot remove 'ops-admin': it is the last enabled admin"),
        (("users", "set-role", "ops-admin", "viewer"), None, 1,
         "logchat: error: cannot change the role of 'ops-admin'"),
    ],
)
def test_errors_are_one_line_on_stderr_with_the_right_exit_code(
    run, request: pytest.FixtureRequest, args: tuple[str, ...], stdin: str | None, code: int, message: str  # type: ignore[no-untyped-def]
) -> None:
    if "ops-admin" in args:
        request.getfixturevalue("admin")  # hashing costs; only the cases about the admin make one
    result = run(*args, input=stdin)
    assert result.exit_code == code, result.output
    assert result.stderr.splitlines()[0].startswith(message)
    assert result.stdout == ""
    assert not isinstance(result.exception, LogchatError)


def test_adding_an_existing_user_fails_before_asking_for_a_password(run, admin: str) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "add", "OPS-ADMIN")  # no input at all: a prompt would abort
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "logchat: error: user 'ops-admin' already exists",
        "  hint: change its password with: logchat users passwd ops-admin",
    ]


def test_debug_shows_the_exception_instead_of_the_line(data_dir: Path, database_url: str) -> None:
    result = CliRunner().invoke(
        app, ["--data-dir", str(data_dir), "--database-url", database_url, "--debug", "users", "disable", "ghost"]
    )
    assert isinstance(result.exception, LogchatError)
    assert result.exit_code == 1


def test_the_password_never_reaches_the_output(run) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "add", "jdoe", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0
    assert PASSWORD not in result.output


def test_help_shows_the_commands_with_examples() -> None:
    result = CliRunner().invoke(app, ["users", "--help"])
    assert result.exit_code == 0
    for command in ("add", "list", "set-role", "passwd", "disable", "enable", "remove"):
        assert command in result.stdout
    add_help = CliRunner().invoke(app, ["users", "add", "--help"]).stdout
    assert "Example: logchat users add ops-admin --role admin" in add_help
    assert "--password-stdin" in add_help


def test_starting_the_cli_loads_no_hashing_tokens_database_or_redis_library() -> None:
    code = (
        "import sys, logchat.cli.app, logchat.cli.users; "
        "print(sorted(m for m in ('pwdlib', 'argon2', 'bcrypt', 'jwt', 'sqlalchemy', 'redis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the last-admin rule across processes --------------------------------------------------------

# `python -m logchat ARGS`, except that once the process has opened the store it says "ready" on stderr
# and waits for a line on stdin: start-up (imports, migrations check) varies by far more than the few
# milliseconds the check and the change take, so two processes started at once seldom overlap there.
# Nothing else differs from the real command.
STARTING_GATE = """
import runpy, sys
from logchat.auth.passwords import PasswordHasher
from logchat.storage import db

PasswordHasher()  # loaded now, not between the gate and the change
open_store = db.open_store

def open_store_then_wait(*args, **kwargs):
    store = open_store(*args, **kwargs)
    print("ready", file=sys.stderr, flush=True)
    sys.stdin.readline()
    return store

db.open_store = open_store_then_wait
runpy.run_module("logchat", run_name="__main__", alter_sys=True)
"""
CLI_RACE_ROUNDS = 8  # about half the rounds end with no admin on code without the lock
CLI_TAKE_AWAY = [("disable",), ("remove",), ("set-role", "viewer")]


def seed_admins(store, password_hash: str, *names: str) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from logchat.storage import auth_repo
    from logchat.storage.models import User

    now = datetime.now(UTC)
    with store.session() as session:
        session.execute(delete(User))
        for name in names:
            auth_repo.add_user(session, User(
                username=name, password_hash=password_hash, role="admin", enabled=True, token_version=0,
                created_at=now, updated_at=now, password_changed_at=now,
            ))


def start_logchat_waiting(data_dir: Path, database_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", STARTING_GATE, "--data-dir", str(data_dir), "--database-url", database_url, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_cli_processes_taking_admins_away_at_once_leave_one_enabled_admin(  # type: ignore[no-untyped-def]
    run, store, data_dir: Path, database_url: str, password_hash: str
) -> None:
    for round_ in range(CLI_RACE_ROUNDS):
        seed_admins(store, password_hash, "alice", "bob")
        first, second = CLI_TAKE_AWAY[round_ % 3], CLI_TAKE_AWAY[(round_ + 1) % 3]
        processes = [
            start_logchat_waiting(data_dir, database_url, "users", first[0], "bob", *first[1:]),
            start_logchat_waiting(data_dir, database_url, "users", second[0], "alice", *second[1:]),
        ]
        for process in processes:
            assert process.stderr is not None
            assert process.stderr.readline() == "ready\n"
        for process in processes:  # both have the store open: let them go together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)  # a hang guard only
            results.append((process.returncode, stdout, stderr))
        enabled = [name for name, user in listed(run).items() if user["role"] == "admin" and user["enabled"]]
        assert len(enabled) == 1, f"round {round_}: enabled admins {enabled}; {results}"
        assert sorted(code for code, _, _ in results) == [0, 1], results
        _, _, stderr = next(result for result in results if result[0] == 1)
        assert stderr.splitlines()[0].startswith("logchat: error: cannot "), stderr
        assert "it is the last enabled admin" in stderr.splitlines()[0]


def test_a_change_blocked_by_another_writer_for_too_long_is_one_clear_line(  # type: ignore[no-untyped-def]
    run, store, data_dir: Path, database_url: str, password_hash: str
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from logchat.storage.models import User

    seed_admins(store, password_hash, "alice", "bob")
    # Another writer keeps its transaction open past the wait (10 s): the SQLite write lock, or the
    # PostgreSQL row lock of the account being changed.
    with store.engine.connect() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.execute(update(User).where(User.username == "bob").values(updated_at=datetime.now(UTC)))
        result = subprocess.run(
            [sys.executable, "-m", "logchat", "--data-dir", str(data_dir), "--database-url", database_url,
             "users", "disable", "bob"],
            capture_output=True, text=True, timeout=90,  # a hang guard only
        )
        conn.rollback()
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "logchat: error: cannot disable 'bob': the database is busy (another process kept it locked for 10s)",
        "  hint: try again in a moment",
    ]
    assert listed(run)["bob"]["enabled"] is True
