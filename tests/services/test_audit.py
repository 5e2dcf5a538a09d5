"""The audit trail on SQLite and PostgreSQL: what is recorded (by whom, from where, with what
outcome), that the chain of hashes catches an edited or deleted entry, that concurrent writers keep
one chain, and that pruning the oldest entries leaves a chain that still verifies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from logchat.errors import Conflict, InvalidCredentials
from logchat.observability.audit import Actor, acting_as
from logchat.observability.logs import bound
from logchat.services import audit
from logchat.services.accounts import AccountService
from logchat.services.auth import AuthService

PASSWORD = "correct horse battery staple"


def _entries(store: Any, **filters: Any) -> list[dict[str, Any]]:
    entries, _ = audit.list_entries(store, audit.AuditQuery(**filters), limit=1000)
    return entries[::-1]  # oldest first


def _sql(store: Any, statement: str) -> None:
    with store.session() as session:
        session.execute(text(statement))


def test_an_entry_names_actor_request_and_client_and_the_chain_verifies(store: Any) -> None:
    with bound(request_id="req-1"), acting_as(Actor("ops", 3, "10.0.0.9")):
        audit.record(store, "logs.reload", target="job 1", detail={"new_events": 5})
    audit.record(store, "user.create", target="jdoe", detail={"role": "viewer"})
    first, second = _entries(store)
    assert {k: first[k] for k in ("actor", "actor_id", "action", "target", "outcome", "client", "request_id",
                                  "detail")} == {
        "actor": "ops", "actor_id": 3, "action": "logs.reload", "target": "job 1", "outcome": "ok",
        "client": "10.0.0.9", "request_id": "req-1", "detail": {"new_events": 5}}
    assert second["actor"].startswith("os:") and second["request_id"] is None  # the command line
    assert first["prev_hash"] == "0" * 64 and second["prev_hash"] == first["hash"]
    result = audit.verify(store)
    assert result.ok and result.checked == 2 and result.head_hash == second["hash"]


@pytest.mark.parametrize("tamper", ["edit", "delete", "edit-detail"])
def test_an_edited_or_deleted_entry_breaks_the_chain(store: Any, tamper: str) -> None:
    for n in range(5):
        audit.record(store, "user.update", target=f"user-{n}", detail={"role": "viewer"})
    ids = [entry["id"] for entry in _entries(store)]
    statement = {
        "edit": f"UPDATE audit_log SET target = 'someone-else' WHERE id = {ids[2]}",
        "edit-detail": f"UPDATE audit_log SET detail = '{{\"role\": \"admin\"}}' WHERE id = {ids[2]}",
        "delete": f"DELETE FROM audit_log WHERE id = {ids[2]}",
    }[tamper]
    _sql(store, statement)
    result = audit.verify(store)
    assert not result.ok
    assert result.broken_at == (ids[3] if tamper == "delete" else ids[2])
    assert ("deleted or changed" if tamper == "delete" else "changed after it was written") in (result.problem or "")


def test_concurrent_writers_keep_one_chain(store: Any) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(15):
                audit.record(store, "ask", target=f"w{worker}", detail={"n": n})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = audit.verify(store)
    assert result.ok and result.checked == 90, result.to_dict()


def test_pruning_the_oldest_entries_leaves_a_chain_that_verifies(store: Any) -> None:
    from logchat.storage import audit_repo

    for n in range(4):
        audit.record(store, "auth.login", target=f"u{n}")
    entries = _entries(store)
    with store.session() as session:
        assert audit_repo.delete_before(session, datetime.fromisoformat(entries[2]["at"])) == 2
    result = audit.verify(store)
    assert result.ok and result.checked == 2 and result.first_id == entries[2]["id"]


def test_filters_and_pages(store: Any) -> None:
    with acting_as(Actor("ops", 1)):
        for n in range(5):
            audit.record(store, "user.update", target=f"u{n}")
        audit.record(store, "auth.login", target="ops", outcome=audit.FAILED)
    audit.record(store, "user.delete", target="u1")
    assert [e["target"] for e in _entries(store, action="user.")] == ["u0", "u1", "u2", "u3", "u4", "u1"]
    assert [e["action"] for e in _entries(store, actor="ops", outcome="failed")] == ["auth.login"]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert _entries(store, since=future) == []
    first, cursor = audit.list_entries(store, audit.AuditQuery(action="user."), limit=4)
    rest, end = audit.list_entries(store, audit.AuditQuery(action="user."), before_id=cursor, limit=4)
    assert [e["target"] for e in first + rest] == ["u1", "u4", "u3", "u2", "u1", "u0"] and end is None


def test_account_changes_and_sign_ins_are_recorded_without_secrets(store: Any, settings: Any) -> None:
    accounts = AccountService(store, settings)
    accounts.add_user("Ops", PASSWORD, "admin")
    accounts.add_user("jdoe", PASSWORD, "viewer")
    accounts.set_role("jdoe", "analyst")
    with pytest.raises(Conflict):
        accounts.disable_user("ops")  # the last enabled admin
    accounts.change_password("jdoe", PASSWORD + "!")
    auth = AuthService(settings, store)
    try:
        with pytest.raises(InvalidCredentials):
            auth.authenticate("jdoe", "not the password", client_address="192.0.2.7")
        pair = auth.login("jdoe", PASSWORD + "!", client_address="192.0.2.7")
        second = auth.refresh(pair.refresh_token)
        with pytest.raises(Exception):  # noqa: B017 — the reuse is refused; its kind is tested elsewhere
            auth.refresh(pair.refresh_token)
        auth.revoke(access_token=second.access_token)
    finally:
        auth.close()
    accounts.remove_user("jdoe")
    rows = [(e["action"], e["target"], e["outcome"]) for e in _entries(store)]
    assert rows == [
        ("user.create", "ops", "ok"), ("user.create", "jdoe", "ok"), ("user.update", "jdoe", "ok"),
        ("user.update", "ops", "failed"), ("user.password", "jdoe", "ok"), ("auth.login", "jdoe", "failed"),
        ("auth.login", "jdoe", "ok"), ("auth.refresh_reuse", "jdoe", "denied"), ("auth.logout", "jdoe", "ok"),
        ("user.delete", "jdoe", "ok"),
    ]
    entries = _entries(store)
    failed_login = entries[5]
    assert (failed_login["actor"], failed_login["client"], failed_login["detail"]) == \
        ("jdoe", "192.0.2.7", {"reason": "wrong_password"})
    assert entries[3]["detail"]["error"].startswith("cannot disable 'ops'")
    assert entries[2]["detail"] == {"role": "analyst"}
    dumped = repr(entries)
    for secret in (PASSWORD, "not the password", pair.access_token, pair.refresh_token):
        assert secret not in dumped
    assert audit.verify(store).ok
