"""Chat sessions per owner: each account keeps its own, the command line keeps its own (owner None),
and nobody reaches a session of another owner without naming that owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from logchat.errors import Conflict, NotFound
from logchat.services.ask import AskRequest, ask
from logchat.services.sessions import (
    ask_in_session,
    create_session,
    delete_session,
    find_account,
    list_sessions,
    record_turn,
    rename_session,
    session_messages,
    show_session,
)


def _accounts(store: Any, *names: str) -> list[int]:
    from logchat.storage import auth_repo
    from logchat.storage.models import User

    now = datetime.now(UTC)
    ids = []
    with store.session() as session:
        for name in names:
            user = auth_repo.add_user(session, User(
                username=name, password_hash="not-a-real-hash", role="viewer", enabled=True, token_version=0,
                created_at=now, updated_at=now, password_changed_at=now,
            ))
            ids.append(user.id)
    return ids


def _names(store: Any, owner: int | None) -> set[str]:
    return {item["name"] for item in list_sessions(store, owner)}


def test_each_owner_has_its_own_namespace(store: Any) -> None:
    alice, bob = _accounts(store, "alice", "bob")
    for owner in (alice, bob, None):
        create_session(store, "incident-42", owner)
    create_session(store, "alice-only", alice)
    assert _names(store, alice) == {"incident-42", "alice-only"}
    assert _names(store, bob) == {"incident-42"}
    assert _names(store, None) == {"incident-42"}
    with pytest.raises(Conflict, match="already exists"):
        create_session(store, "incident-42", alice)
    with pytest.raises(Conflict):
        create_session(store, "  incident-42  ", None)  # the same name once spaces are dropped


def test_another_owners_session_is_not_found_and_left_alone(store: Any) -> None:
    alice, bob = _accounts(store, "alice", "bob")
    create_session(store, "alice-only", alice)
    for attempt in (
        lambda: show_session(store, "alice-only", bob),
        lambda: session_messages(store, "alice-only", bob),
        lambda: rename_session(store, "alice-only", "mine-now", bob),
        lambda: delete_session(store, "alice-only", bob),
        lambda: show_session(store, "alice-only"),  # the command line does not see it either
        lambda: delete_session(store, "alice-only"),
    ):
        with pytest.raises(NotFound, match="no session named 'alice-only'"):
            attempt()
    assert _names(store, alice) == {"alice-only"}
    assert _names(store, bob) == set()


def test_rename_within_ones_own_sessions(store: Any) -> None:
    (alice,) = _accounts(store, "alice")
    create_session(store, "a", alice)
    create_session(store, "b", alice)
    create_session(store, "c", None)
    with pytest.raises(Conflict):
        rename_session(store, "a", "b", alice)
    assert rename_session(store, "a", "a", alice)["name"] == "a"  # to its own name: nothing to do
    renamed = rename_session(store, "a", "c", alice)  # another owner's "c" is no obstacle
    assert renamed["name"] == "c" and renamed["turns"] == 0
    assert _names(store, alice) == {"b", "c"} and _names(store, None) == {"c"}


def test_removing_an_account_deletes_its_sessions_and_turns(small_store: Any, settings: Any) -> None:
    from sqlalchemy import func, select

    from logchat.services.accounts import AccountService
    from logchat.storage.models import ChatTurn

    alice, _ = _accounts(small_store, "alice", "keeper")
    ask_in_session(small_store, settings, AskRequest("failed password", use_llm=False), session="s", owner=alice)
    command_line = ask(small_store, settings, AskRequest("failed password", session="s", use_llm=False))
    command_line.to_json()
    record_turn(small_store, command_line)
    AccountService(small_store, settings).remove_user("alice")
    assert _names(small_store, alice) == set()
    assert [turn["question"] for turn in show_session(small_store, "s")["turns"]] == ["failed password"]
    with small_store.session() as session:
        assert session.scalar(select(func.count()).select_from(ChatTurn)) == 1


def test_asking_in_an_owners_session_creates_it_and_follows_up_there_only(small_store: Any, settings: Any) -> None:
    alice, bob = _accounts(small_store, "alice", "bob")
    first = ask_in_session(small_store, settings, AskRequest("failed password for root", use_llm=False),
                           session="incident-42", owner=alice).to_json()
    assert first["session"] == "incident-42" and first["matched"] == 2
    follow = ask_in_session(small_store, settings, AskRequest("and which hosts?", use_llm=False),
                            session="incident-42", owner=alice).to_json()
    assert follow["filters"]["from_session"] is True
    # Bob's session of the same name starts from nothing: Alice's scope does not leak into it.
    other = ask_in_session(small_store, settings, AskRequest("and which hosts?", use_llm=False),
                           session="incident-42", owner=bob).to_json()
    assert other["filters"]["from_session"] is False
    assert [item["turns"] for item in list_sessions(small_store, alice)] == [2]
    assert [item["turns"] for item in list_sessions(small_store, bob)] == [1]
    assert list_sessions(small_store) == []  # the command line's sessions: untouched


def test_messages_are_paged_newest_first(small_store: Any, settings: Any) -> None:
    (alice,) = _accounts(small_store, "alice")
    for n in range(5):
        ask_in_session(small_store, settings, AskRequest(f"failed password {n}", use_llm=False),
                       session="paged", owner=alice)
    first = session_messages(small_store, "paged", alice, limit=2)
    assert [m["position"] for m in first["messages"]] == [5, 4] and first["next_before"] == 4
    second = session_messages(small_store, "paged", alice, limit=2, before=first["next_before"])
    assert [m["position"] for m in second["messages"]] == [3, 2] and second["next_before"] == 2
    last = session_messages(small_store, "paged", alice, limit=2, before=second["next_before"])
    assert [m["position"] for m in last["messages"]] == [1] and last["next_before"] is None
    assert last["turns"] == 5 and last["messages"][0]["question"] == "failed password 0"
    exact = session_messages(small_store, "paged", alice, limit=5)
    assert len(exact["messages"]) == 5 and exact["next_before"] is None


def test_secrets_in_a_session_stay_masked(small_store: Any, settings: Any) -> None:
    (alice,) = _accounts(small_store, "alice")
    secret = "password=hunter2hunter2"
    ask_in_session(small_store, settings, AskRequest(f"failed password {secret}", use_llm=False),
                   session="masked", owner=alice)
    page = session_messages(small_store, "masked", alice)
    assert page["messages"][0]["question"].startswith("failed password password=")
    assert "hunter2hunter2" not in repr(page)


def test_find_account_names_the_owner(store: Any) -> None:
    (alice,) = _accounts(store, "alice")
    assert find_account(store, " Alice ") == (alice, "alice")
    for unknown in ("nobody", "bad\x00name", ""):
        with pytest.raises(NotFound):
            find_account(store, unknown)


def test_questions_asked_at_once_in_one_session_all_keep_their_turn(small_store: Any, settings: Any) -> None:
    # A client may ask again before the first answer is in (several sockets, or several frames).
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    (alice,) = _accounts(small_store, "alice")
    workers, each = 4, 4
    start = Barrier(workers)

    def asker(n: int) -> None:
        start.wait(timeout=60)
        for k in range(each):
            ask_in_session(small_store, settings, AskRequest(f"failed password {n}-{k}", use_llm=False),
                           session="busy", owner=alice)

    with ThreadPoolExecutor(workers) as pool:
        for outcome in [pool.submit(asker, n) for n in range(workers)]:
            outcome.result(timeout=120)
    turns = show_session(small_store, "busy", alice)["turns"]
    assert [turn["position"] for turn in turns] == list(range(1, workers * each + 1))
    assert len({turn["question"] for turn in turns}) == workers * each


def test_ensure_session_creates_once_and_keeps_what_is_there(small_store: Any, settings: Any) -> None:
    from logchat.services.sessions import ensure_session

    (alice,) = _accounts(small_store, "alice")
    ensure_session(small_store, "switched-to", alice)
    ask_in_session(small_store, settings, AskRequest("failed password", use_llm=False), session="switched-to",
                   owner=alice)
    ensure_session(small_store, " switched-to ", alice)
    assert [(item["name"], item["turns"]) for item in list_sessions(small_store, alice)] == [("switched-to", 1)]
    assert list_sessions(small_store) == []
