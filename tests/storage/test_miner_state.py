"""The template miner state is stored as data: loading it never runs code, and ids stay stable."""

from __future__ import annotations

import pickle
import zlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from logchat.ingest.templates import TemplateMiner, is_data_state
from logchat.services.ingest import index_inputs
from logchat.storage.models import Event, TemplateMinerState

LINES = [
    "Nov  3 10:00:01 web-03 sshd[100]: Failed password for root from 183.62.140.253 port 4000 ssh2",
    "Nov  3 10:00:02 web-03 sshd[101]: Accepted password for deploy from 10.0.0.5 port 4002 ssh2",
    "Nov  3 10:00:03 web-03 sshd[102]: Connection closed by 10.0.0.9 port 4003",
]


class _CreatesFile:
    """A pickle that, when loaded, creates a file: what a hostile writer of the state row could store."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.path), "w"))


def _template_of(store, raw_suffix: str) -> list[int]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return list(session.scalars(select(Event.template_id).where(Event.raw.endswith(raw_suffix)).order_by(Event.id)))


def test_a_pickled_state_in_the_store_is_never_loaded(store, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "auth.log"
    log.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    assert not index_inputs(store, settings, [str(log)]).failed
    before = {line: _template_of(store, line[-20:])[0] for line in LINES}
    marker = tmp_path / "pwned"
    payload = zlib.compress(pickle.dumps({"version": 1, "root_node": _CreatesFile(marker)}))
    with store.session() as session:
        session.get_one(TemplateMinerState, 1).state = payload
    # The same shapes again, from another host's point of view: the next run loads the state.
    with log.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(line.replace("10:00:0", "11:00:0") for line in LINES) + "\n")
    report = index_inputs(store, settings, [str(log)])
    assert not report.failed, report.sources[0].errors
    assert report.new_events == 3
    assert not marker.exists()
    for line in LINES:
        # Rebuilt from the templates table: the same messages keep their template ids.
        assert _template_of(store, line[-20:]) == [before[line]] * 2
    with store.session() as session:
        row = session.get_one(TemplateMinerState, 1)
        row.state = b"\x00garbage"  # not even compressed: also rebuilt, not fatal
        row.updated_at = datetime.now(UTC)
    assert not index_inputs(store, settings, [str(log)]).failed


def test_state_round_trip_continues_like_the_original() -> None:
    messages = [f"job {i % 7} of user{i % 13} finished in {i} ms on node-{i % 3}" for i in range(500)]
    messages += [f"disk /dev/sd{'abc'[i % 3]} is {i}% full" for i in range(200)]
    whole = TemplateMiner()
    expected = [whole.assign(m) for m in messages]
    first = TemplateMiner()
    ids = [first.assign(m) for m in messages[:350]]
    state = first.dump_state()
    assert is_data_state(state)
    resumed = TemplateMiner(state)
    ids += [resumed.assign(m) for m in messages[350:]]
    assert ids == expected
    assert {cid: resumed.template(cid) for cid in set(ids)} == {cid: whole.template(cid) for cid in set(ids)}


def test_rebuilt_from_templates_keeps_ids() -> None:
    miner = TemplateMiner()
    messages = ["session opened for user root", "session closed for user root", "CPU 3 throttled at 95 C"]
    ids = [miner.assign(m) for m in messages]
    rebuilt = TemplateMiner.from_templates([(cid, miner.template(cid)) for cid in set(ids)])
    assert [rebuilt.assign(m) for m in messages] == ids
    assert rebuilt.assign("a message of a new kind entirely") == max(ids) + 1
