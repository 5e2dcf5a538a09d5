"""A scope written as text selects the same lines through the raw-line search and through the chat
model's tools, over a real store of loghub's OpenSSH sample (SQLite, and PostgreSQL when configured).
Expected numbers are read from the log file here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logchat.llm.tools import ScopeArguments
from logchat.services.ask_tools import StoreTools
from logchat.services.event_scope import InvalidParameter
from logchat.services.ingest import index_inputs
from logchat.services.search import SearchRequest, search_lines
from logchat.storage.stats_repo import EventFilter

IP = "183.62.140.253"
CUT = "11:00:00"  # every line of the sample is of December 10th


@pytest.fixture
def openssh_store(store: Any, settings: Any, loghub: Path) -> Any:
    assert not index_inputs(store, settings, [str(loghub / "OpenSSH" / "OpenSSH_2k.log")]).failed
    return store


@pytest.fixture
def ip_times(loghub: Path) -> list[str]:
    """The time of day of every line naming the IP, from the file."""
    times = []
    for line in (loghub / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines():
        if re.search(r"(?<![\d.])" + re.escape(IP) + r"(?!\.?\d)", line):
            times.append(line.split()[2])
    return times


def searched(store: Any, settings: Any, **parts: Any) -> list[dict[str, Any]]:
    """Every hit of a search, page after page."""
    hits: list[dict[str, Any]] = []
    after = None
    while True:
        page = search_lines(store, SearchRequest(**parts, after=after, limit=500),
                            timezone=settings.ingest.default_timezone)  # fmt: skip
        hits.extend(page["hits"])
        if page["next"] is None:
            return hits
        after = page["next"]


def counted(store: Any, settings: Any, base: EventFilter, **parts: Any) -> int:
    return int(StoreTools(store, settings, base).count(ScopeArguments(**parts))["matched"])


def test_the_search_and_the_tools_select_the_same_lines(openssh_store: Any, settings: Any, ip_times: list[str]) -> None:
    everything = searched(openssh_store, settings, q=IP)
    assert len(everything) == len(ip_times) > 500
    cut = f"{everything[0]['ts'].year}-12-10 {CUT}"
    before = sum(time < CUT for time in ip_times)
    assert 0 < before < len(ip_times)
    for search_parts, tool_parts, expected in [
        ({"q": IP}, {"text": IP}, len(ip_times)),
        ({"q": IP, "processes": ["sshd"]}, {"text": IP, "process": "sshd"}, len(ip_times)),
        ({"q": IP, "hosts": ["LabSZ"]}, {"text": IP, "host": "LabSZ"}, len(ip_times)),
        ({"q": IP, "hosts": ["elsewhere"]}, {"text": IP, "host": "elsewhere"}, 0),
        ({"q": IP, "sources": ["OpenSSH_2k"]}, {"text": IP, "source": "OpenSSH_2k"}, len(ip_times)),
        ({"q": IP, "until": cut}, {"text": IP, "until": cut}, before),
        ({"q": IP, "since": cut}, {"text": IP, "since": cut}, len(ip_times) - before),
    ]:
        assert len(searched(openssh_store, settings, **search_parts)) == expected, search_parts
        assert counted(openssh_store, settings, EventFilter(), **tool_parts) == expected, tool_parts


def test_a_tool_replaces_only_the_parts_it_sets(openssh_store: Any, settings: Any, ip_times: list[str]) -> None:
    year = searched(openssh_store, settings, q=IP)[0]["ts"].year
    elsewhere = EventFilter(processes=["no-such-process"])
    assert counted(openssh_store, settings, elsewhere, text=IP) == 0
    assert counted(openssh_store, settings, elsewhere, text=IP, process="sshd") == len(ip_times)
    # A tool setting where the time starts keeps where the question's time range ends.
    question = EventFilter(until=searched(openssh_store, settings, q=IP, until=f"{year}-12-10 {CUT}")[0]["ts"])
    end = max(time for time in ip_times if time < CUT)  # the newest line before the cut: the end, not included
    earlier = sum(time < end for time in ip_times)
    assert counted(openssh_store, settings, question, text=IP) == earlier
    assert counted(openssh_store, settings, question, text=IP, since=f"{year}-12-10 00:00:00") == earlier
    assert counted(openssh_store, settings, question, text=IP, until=f"{year}-12-11 00:00:00") == len(ip_times)


def test_a_wrong_level_names_the_parameter_in_both(openssh_store: Any, settings: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"^level: unknown level 'loud'") as raised:
        searched(openssh_store, settings, q=IP, level="loud")
    assert raised.value.field == "level"
    with pytest.raises(InvalidParameter, match=r"^level: unknown level 'loud'") as raised:
        counted(openssh_store, settings, EventFilter(), text=IP, level="loud")
    assert raised.value.field == "level"
