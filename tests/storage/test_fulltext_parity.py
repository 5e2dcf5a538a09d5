"""Full-text search finds the same lines on SQLite (FTS5) and PostgreSQL (tsvector).

The same logs (the shipped examples plus lines full of dotted class names, paths, URLs, identifiers
with ``_`` and ``-``, IPs and numbers) are indexed into both databases; every query must then match the
same lines on both, words that only occur inside such names included.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logchat.config import load_settings
from logchat.retrieval.fulltext import parse_text_query, resolve_query
from logchat.services.ask import AskRequest, ask
from logchat.services.ingest import index_inputs
from logchat.storage import fulltext_repo
from logchat.storage.db import open_store
from logchat.storage.search_repo import fetch_events

EXAMPLES = Path(__file__).parents[2] / "logchat" / "examples"

NAMES_LOG = [
    "2026-11-03T05:00:00+00:00 app-01 orders[101]: GET https://api.example.com/v2/orders/ORD-2026_0042?expand=items "
    "returned 404",
    "2026-11-03T05:00:01+00:00 app-01 orders[101]: org.acme.billing.InvoiceRenderer failed: "
    "/var/lib/billing/invoices/2026-11/inv_77.pdf not found",
    "2026-11-03T05:00:02+00:00 app-02 kernel: eth0 link up 10.20.30.40/24 gw 10.20.30.1 mtu=9000",
    "2026-11-03T05:00:03+00:00 app-02 worker[7]: job user_sync-retry_3 took 1.5e3 ms, version v1.2.3-rc1",
    "2026-11-03T05:00:04+00:00 app-02 worker[7]: request_id=req-7f3a9c trace=ab12-cd34 user=jane.doe@example.org",
    "2026-11-03T05:00:05+00:00 app-03 nginx[9]: upstream timed out (110: Connection timed out) while reading "
    "/api/v1/payments/refunds from 172.16.0.5:8443",
    "2026-11-03T05:00:06+00:00 app-03 app[15]: cache key tenant:acme|region:eu-west-1 evicted (size=0x1F00)",
    "2026-11-03T05:00:07+00:00 app-03 app[15]: café naïve — encoding check for payment-gateway",
    "2026-11-03T05:00:08+00:00 web-01 sshd[10]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "2026-11-03T05:00:09+00:00 web-01 sshd[11]: Failed password for root from 10.0.0.12 port 22 ssh2",
    "2026-11-03T05:00:10+00:00 web-02 sshd[12]: Failed password for admin from 110.0.0.1 port 22 ssh2",
    "2026-11-03T05:00:11+00:00 web-02 app[14]: block blk_-42 replicated, blk_42 kept",
]

# (text, keywords): single words found only inside dotted names, paths and URLs, stems of them, numbers,
# identifiers with punctuation (matched verbatim), IPs that prefix others, quoted phrases.
QUERIES: list[tuple[str, tuple[str, ...]]] = [
    ("payments", ()),
    ("payment", ()),
    ("gatewayclient", ()),
    ("checkoutservice", ()),
    ("example", ()),
    ("acme", ()),
    ("invoicerenderer", ()),
    ("invoices", ()),
    ("pdf", ()),
    ("api", ()),
    ("v1", ()),
    ("refunds", ()),
    ("orders", ()),
    ("ord", ()),
    ("expand", ()),
    ("com", ()),
    ("java", ()),
    ("socketinputstream", ()),
    ("sync", ()),
    ("retry", ()),
    ("rc1", ()),
    ("5e3", ()),
    ("eth0", ()),
    ("9000", ()),
    ("8443", ()),
    ("42", ()),
    ("blk", ()),
    ("latency_ms", ()),
    ("jane", ()),
    ("region", ()),
    ("west", ()),
    ("café", ()),
    ("payment-gateway", ()),
    ("api v1 payments", ()),
    ("upstream timed out", ()),
    ("java base", ()),
    ("user_sync-retry_3", ()),
    ("req-7f3a9c", ()),
    ("ab12-cd34", ()),
    ("inv_77.pdf", ()),
    ("blk_-42", ("blk_-42",)),
    ("10.0.0.1", ("10.0.0.1",)),
    ("10.20.30.1", ("10.20.30.1",)),
    ("172.16.0.5:8443", ()),
    ('"Bad Gateway"', ()),
    ('"timed out"', ()),
    ("com.example.payments.GatewayClient", ()),
    ("/api/v1/payments", ()),
]
QUESTIONS = ["errors in the payments service", "why did sshd reject logins", "how many 500 responses",
             "requests to /api/v1/payments", "GatewayClient failures"]


def _open(data_dir: Path, url: str, logs: Path) -> Any:
    settings = load_settings(data_dir=data_dir, database={"url": url})
    store = open_store(settings.database_url)
    report = index_inputs(store, settings, [str(logs)])
    assert not report.failed, report.to_dict()
    return store, settings


@pytest.fixture
def twin_stores(tmp_path: Path, postgres_url: str) -> Iterator[dict[str, tuple[Any, Any]]]:
    """The same logs in a SQLite store and in a PostgreSQL store."""
    logs = tmp_path / "logs"
    shutil.copytree(EXAMPLES, logs)
    (logs / "names.log").write_text("\n".join(NAMES_LOG) + "\n", encoding="utf-8")
    stores = {
        "sqlite": _open(tmp_path / "sqlite", f"sqlite:///{tmp_path / 'sqlite.db'}", logs),
        "postgresql": _open(tmp_path / "postgresql", postgres_url, logs),
    }
    try:
        yield stores
    finally:
        for store, _ in stores.values():
            store.close()


def _matching_lines(store: Any, text: str, keywords: tuple[str, ...]) -> tuple[int, set[tuple[str, int]]]:
    """(count, the matching lines as (file name, line number)): ids may differ between stores, lines do not."""
    with store.session() as session:
        resolved = resolve_query(session, parse_text_query(text, keywords))
        count = fulltext_repo.count_matches(session, resolved, [])
        found = fulltext_repo.search_events(session, resolved, [], 100_000)
        rows = fetch_events(session, [event_id for event_id, _ in found])
        lines = {(Path(row.source_name).name, row.line_no) for row in rows.values()}
    return count, lines


def test_every_query_matches_the_same_lines_on_both_databases(twin_stores: dict[str, tuple[Any, Any]]) -> None:
    differences = {}
    for text, keywords in QUERIES:
        on_sqlite = _matching_lines(twin_stores["sqlite"][0], text, keywords)
        on_postgresql = _matching_lines(twin_stores["postgresql"][0], text, keywords)
        assert on_sqlite[0] > 0, f"{text!r} matches nothing: the query tells nothing"
        assert on_sqlite[0] == len(on_sqlite[1]), f"{text!r} was dropped from the query"
        if on_sqlite != on_postgresql:
            differences[text] = {"sqlite": on_sqlite, "postgresql": on_postgresql}
    assert differences == {}


def test_words_inside_dotted_names_and_paths_are_found_on_postgresql(
    twin_stores: dict[str, tuple[Any, Any]],
) -> None:
    store, _ = twin_stores["postgresql"]
    count, lines = _matching_lines(store, "payments", ())
    # Every line of the service log names com.example.payments.*, and requests to /api/v1/payments abound.
    assert {name for name, _ in lines} >= {"payments-service.log", "payments-access.log", "names.log"}
    assert ("names.log", 6) in lines and count == len(lines)
    # Identifiers stay exact: 10.0.0.1 is neither 10.0.0.12 nor 110.0.0.1.
    assert _matching_lines(store, "10.0.0.1", ("10.0.0.1",))[1] == {("names.log", 9)}


def test_questions_match_as_many_events_on_both_databases(twin_stores: dict[str, tuple[Any, Any]]) -> None:
    now = datetime(2026, 11, 4, tzinfo=UTC)
    matched = {
        backend: {q: ask(store, settings, AskRequest(q, now=now, use_llm=False)).to_json()["matched"]
                  for q in QUESTIONS}
        for backend, (store, settings) in twin_stores.items()
    }
    assert matched["postgresql"] == matched["sqlite"]
    assert matched["sqlite"]["errors in the payments service"] > 0
