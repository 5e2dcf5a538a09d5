"""The web page of `logchat serve` in a real headless Chromium against a real daemon process: sign in,
ask with the answer streaming in from a (fake) model, open a citation's context, reload and find the
session again, read the stats, the anomalies and the usage analytics, sign out. Any console error or CSP
violation fails the test."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from peers import CHROMIUM, why_no_browser
from test_serve_cli import PASSWORD, logchat, start, stop

EXAMPLES = Path(__file__).resolve().parents[2] / "logchat" / "examples"
QUESTION = "why did sshd reject logins?"
REPLY = "Most rejected logins were failed passwords for root and admin from a few addresses [E1]."
# What the page shows while it streams, then when the answer has arrived.
STREAMING = ".turn:not(.answered) .answer-text.streaming"
# Installed before any script of the page: the browser reports every CSP violation here.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""
# Records each text of the streaming answer as it changes, and whether the final answer was in yet.
RECORD_STREAM = """
window.__streamed = [];
new MutationObserver(() => {
  const node = document.querySelector(".turn:last-child .answer-text");
  const answered = document.querySelector(".turn:last-child")?.classList.contains("answered") ?? false;
  if (node) window.__streamed.push({ text: node.textContent, answered });
}).observe(document.getElementById("turns"), { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture
def browser() -> Iterator[Any]:
    # Without Chromium and Playwright this test was skipped at collection (tests/peers.py), except in
    # CI, which installs them (.ci/run): there their absence is a failure.
    missing = why_no_browser()
    if missing:
        pytest.fail(f"{missing} is required but not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Daemon:
    """A running `logchat serve`; stop() and start() again on the same address, as an operator's
    restart looks to the page."""

    def __init__(self, data: Path, config: Path) -> None:
        self.data, self.config = data, config
        self.process, self.base = start(data, config=config)

    def stop(self) -> None:
        if self.process.returncode is None:
            code, logged = stop(self.process)
            assert code == 0, logged

    def start_again(self) -> None:
        port = self.base.rsplit(":", 1)[1]
        self.process, base = start(self.data, "--port", port, config=self.config)
        assert base == self.base


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Any]:
    """Starts `logchat serve` on the bundled sample logs, with the fake model streaming its reply slowly
    enough that the page shows it growing; ``settings`` is more of logchat.toml."""
    data = tmp_path / "data"
    indexed = logchat(data, "index", str(EXAMPLES))
    assert indexed.returncode == 0, indexed.stderr
    for name, role in (("oncall", "viewer"), ("sre-lead", "analyst"), ("ops-admin", "admin")):
        added = logchat(data, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    started: list[Daemon] = []
    with FakeOllama(reply=REPLY) as model:
        model.chunk_delay = 0.15

        def make(settings: str = "") -> Daemon:
            config = tmp_path / "logchat.toml"
            config.write_text(f'[llm]\nbase_url = "{model.url}"\ntimeout_seconds = 30\n{settings}', encoding="utf-8")
            started.append(Daemon(data, config))
            return started[-1]

        yield make
        for running in started:
            running.stop()


@pytest.fixture
def daemon(make_daemon: Any) -> Daemon:
    return make_daemon()  # type: ignore[no-any-return]


class Watched:
    """A page of the browser, with what went wrong on it: console errors, uncaught exceptions, CSP
    violations and HTTP errors; and screenshots in a folder of the test's."""

    def __init__(self, browser: Any, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        print(f"screenshots: {folder}", file=sys.stderr)
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US", timezone_id="UTC")
        self.context.add_init_script(RECORD_CSP_VIOLATIONS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expected: list[str] = []  # console errors a step expects (a refused connection)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", lambda response: response.status >= 400 and self.problems.append(
            f"HTTP {response.status} for {response.request.method} {response.url}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(text in message.text for text in self.expected):
            self.problems.append(f"console: {message.text}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.folder / f"{name}.png"))

    def check(self) -> None:
        assert self.page.evaluate("window.__cspViolations") == []
        assert self.problems == []


@pytest.fixture
def watched(browser: Any, tmp_path: Path) -> Iterator[Watched]:
    # Ask for it after `daemon`, so that the page closes before the daemon stops.
    page = Watched(browser, tmp_path / "screenshots")
    yield page
    page.shot("last")  # after a failed step: what the page showed then
    if page.problems:
        print("\n".join(page.problems), file=sys.stderr)
    page.context.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.locator("#connection[data-state=online]").wait_for()


def ask(page: Any, question: str) -> Any:
    """Ask with the keyboard; the answered turn."""
    page.get_by_label("Question").fill(question)
    page.get_by_label("Question").press("Enter")
    turn = page.locator(".turn.answered", has=page.locator(".question", has_text=question))
    turn.wait_for(timeout=60_000)
    return turn


def test_sign_in_ask_open_a_citation_reload_stats_and_sign_out(daemon: Daemon, watched: Watched) -> None:
    page, shot = watched.page, watched.shot
    # Sign in, with the keyboard.
    page.goto(daemon.base + "/")
    page.get_by_label("User name").wait_for()
    shot("01-sign-in")
    page.get_by_label("User name").fill("oncall")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.locator("#connection[data-state=online]").wait_for()
    assert page.locator("#whoami").inner_text() == "oncall (viewer)"
    shot("02-signed-in")

    # Ask: Shift+Enter is a new line, Enter sends; the answer streams in before the final frame.
    page.evaluate(RECORD_STREAM)
    box = page.get_by_label("Question")
    box.fill(QUESTION)
    box.press("Shift+Enter")
    assert box.input_value() == QUESTION + "\n"
    assert page.locator(".turn").count() == 0
    box.press("Backspace")
    box.press("Enter")
    page.locator(STREAMING).filter(has_text="rejected logins").wait_for()
    shot("03-streaming")
    page.locator(".turn.answered").wait_for(timeout=60_000)
    shot("04-answer")
    streamed = page.evaluate("window.__streamed")
    partial = [seen["text"] for seen in streamed if not seen["answered"] and seen["text"]]
    assert len(set(partial)) >= 3, streamed  # several growing texts before the answer frame
    assert all(REPLY.startswith(text) for text in partial), partial
    assert [len(text) for text in partial] == sorted(len(text) for text in partial)
    answer = page.locator(".turn.answered .answer-text")
    assert answer.inner_text().startswith("Most rejected logins were failed passwords")
    assert page.locator(".turn.answered table.patterns tbody tr").count() >= 1
    assert page.locator(".evidence button.citation").count() >= 1

    # A citation opens the lines around it; Escape closes the panel and focus goes back to it.
    citation = page.locator(".answer-text button.cite-inline", has_text="E1")
    citation.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#context-dialog")
    dialog.locator(".context-line.cited").wait_for()
    assert dialog.locator(".context-line").count() > 1
    assert dialog.locator(".context-line.cited").inner_text().strip() != ""
    assert "auth.log:" in dialog.locator("#context-title").inner_text()
    shot("05-context")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('cite-inline')")

    # A reload keeps the sign-in and reopens the session with its turn.
    page.reload()
    page.locator("#connection[data-state=online]").wait_for()
    session = page.locator("button.session", has_text=QUESTION)
    session.wait_for()
    assert session.get_attribute("aria-current") == "true"
    assert page.locator("#session-title").inner_text() == QUESTION
    page.locator(".turn .question", has_text=QUESTION).wait_for()
    assert page.locator(".turn").count() == 1
    assert "failed passwords" in page.locator(".turn .answer-text").inner_text()
    shot("06-after-reload")

    # Stats: levels and the time histogram.
    page.get_by_role("button", name="Stats").click()
    page.locator(".bar-row .level").first.wait_for()
    stat = logchat(daemon.data, "stat", "--json")  # what the command line says about the same store
    assert stat.returncode == 0, stat.stderr
    expected = json.loads(stat.stdout)
    levels = page.locator(".bar-row:has(.level)")
    shown = [(row.locator(".level").inner_text(), row.locator(".num").inner_text()) for row in levels.all()]
    assert shown == [(level.upper(), f"{count:,}") for level, count in expected["by_level"].items()]
    assert page.locator("svg.histogram rect.hist-bar").count() == len(expected["histogram"]["buckets"]) > 1
    assert page.locator(".stats table.patterns tbody tr").count() >= 1
    shot("07-stats")

    # Sign out: the sign-in form again, and a reload does not sign back in.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    page.get_by_label("User name").wait_for()
    shot("08-signed-out")
    watched.check()


def test_a_lost_connection_is_shown_and_the_page_reconnects_with_a_fresh_token(
    make_daemon: Any, watched: Watched
) -> None:
    daemon = make_daemon("[auth]\naccess_token_ttl_seconds = 10\n")
    page = watched.page
    refreshed = []
    page.on("response", lambda response: response.url.endswith("/api/v1/auth/refresh") and refreshed.append(
        response.status))
    sign_in(page, daemon.base, "ops-admin")
    first = ask(page, QUESTION)
    assert first.locator(".cite-inline").count() >= 1

    # The daemon stops: the page says the connection is lost, and keeps trying.
    host = daemon.base.split("://")[1]
    watched.expected += [f"WebSocket connection to 'ws://{host}/api/v1/ws' failed", "net::ERR_CONNECTION_REFUSED"]
    daemon.stop()
    status = page.locator("#connection[data-state=offline]")
    status.wait_for()
    assert "Connection lost" in status.inner_text()
    assert status.get_by_role("button", name="Reconnect now").is_visible()
    watched.shot("09-connection-lost")
    # Long enough for the access token of the sign-in to expire meanwhile.
    page.wait_for_timeout(10_500)
    daemon.start_again()
    page.locator("#connection[data-state=online]").wait_for(timeout=60_000)
    assert 200 in refreshed  # the new connection signed in with a fresh access token

    # The follow-up goes to the open session: its list entry counts two turns.
    ask(page, "and which addresses were involved?")
    page.locator("button.session[aria-current=true]", has_text="2 turns").wait_for()
    assert page.locator("button.session").count() == 1
    watched.shot("10-reconnected")
    watched.check()


def test_api_errors_are_shown_as_stated_and_slash_commands_answer(daemon: Daemon, watched: Watched) -> None:
    page = watched.page
    page.goto(daemon.base + "/")
    page.get_by_label("User name").fill("oncall")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#signin-error")
    error.filter(has_text="invalid user name or password").wait_for()
    watched.shot("11-sign-in-refused")
    # The refused sign-in itself, as the browser reports it (the response, and Chromium's console line).
    assert watched.problems and all("401" in problem for problem in watched.problems), watched.problems
    watched.problems.clear()
    sign_in(page, daemon.base, "oncall")
    page.get_by_role("button", name="Stats").click()
    stats_form = page.locator("#stats-form")
    stats_form.get_by_label("Since").fill("not a time at all")
    stats_form.get_by_role("button", name="Show").click()
    shown = page.locator("#stats-output .error")
    shown.wait_for()
    assert shown.inner_text().startswith("since:"), shown.inner_text()
    assert watched.problems and all("400" in problem for problem in watched.problems), watched.problems
    watched.problems.clear()

    # Slash commands answer in the conversation; `/session NAME` opens that session in the page too.
    page.get_by_role("button", name="Chat").click()
    page.get_by_label("Question").fill("/whoami")
    page.get_by_label("Question").press("Enter")
    page.locator(".command-output", has_text="oncall (viewer)").wait_for()
    page.get_by_label("Question").fill("/session incident-42")
    page.get_by_label("Question").press("Enter")
    page.locator("button.session[aria-current=true]", has_text="incident-42").wait_for()
    assert page.locator("#session-title").inner_text() == "incident-42"
    watched.shot("12-slash-session")
    watched.check()


# An hour of the sample logs in which patterns spiked and appeared (the store's last hour only has drops).
ANOMALY_WINDOW = ("2026-11-03T04:00Z", "2026-11-03T05:00Z")
# An hour before the first event of the samples: nothing to compare with.
NO_BASELINE = ("2026-11-02T01:00Z", "2026-11-02T02:00Z")


def cli_json(data: Path, *args: str) -> Any:
    """What a `logchat` command prints with --json, on the daemon's store."""
    ran = logchat(data, *args, "--json")
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def shown_anomalies(page: Any) -> list[tuple[str, ...]]:
    rows = page.locator("#anomalies-output table.anomaly-patterns tbody tr")
    return [(row.locator("td").nth(0).inner_text().lower(), row.locator(".score-value").inner_text(),
             row.locator("td").nth(2).inner_text(), row.locator("td").nth(3).inner_text(),
             row.locator("td.template > code").inner_text()) for row in rows.all()]


def expected_anomalies(report: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(t["kind"], f"{t['score']:+.2f}", f"{t['window_count']:,}", f"{t['baseline_count']:,}", t["template"])
            for t in report["templates"]]


def show_anomalies(page: Any, since: str, until: str) -> None:
    form = page.locator("#anomalies-form")
    form.get_by_label("Since").fill(since)
    form.get_by_label("Until").fill(until)
    with page.expect_response(lambda response: "/api/v1/logs/anomalies?" in response.url):
        form.get_by_label("Baseline").press("Enter")


def test_usage_and_anomalies_for_an_analyst_and_no_usage_tab_for_a_viewer(daemon: Daemon, watched: Watched) -> None:
    page, shot = watched.page, watched.shot
    sign_in(page, daemon.base, "sre-lead")
    usage_tab = page.get_by_role("button", name="Usage")
    usage_tab.wait_for()
    ask(page, QUESTION)
    ask(page, "how many errors on web-03 in 2019?")  # the samples are of 2026: nothing matches

    # Usage: the day bars, the totals and the tables are those of `logchat stat --usage` on the same store.
    usage_tab.focus()
    page.keyboard.press("Enter")  # the tabs are buttons: the keyboard opens them
    page.locator("#usage-output .day-bar").first.wait_for()
    usage = cli_json(daemon.data, "stat", "--usage")
    assert usage["totals"]["questions"] == 2
    assert page.locator("#usage-output .day-bar").count() == len(usage["per_day"]) == 1
    counts = page.locator("#usage-output .day-count").all_inner_texts()
    assert counts == [f"{day['questions']:,}" for day in usage["per_day"]]
    cards = dict(zip(page.locator("#usage-output .stat-label").all_inner_texts(),
                     page.locator("#usage-output .stat-value").all_inner_texts(), strict=True))
    assert cards["QUESTIONS"] == f"{usage['totals']['questions']:,}"
    assert cards["USERS"] == "1"
    assert cards["WRITTEN BY THE MODEL"] == f"{round(usage['totals']['llm_share'] * 100)} %"
    users = page.locator("#usage-output table.per-user tbody tr")
    assert [(row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()) for row in users.all()] == [
        (user["user"], f"{user['questions']:,}") for user in usage["per_user"]]
    assert page.locator("#usage-output table.shapes tbody td.template").all_inner_texts() == [
        shape["shape"] for shape in usage["top_shapes"]]
    unanswered = page.locator("#usage-output table.unanswered tbody td.template").all_inner_texts()
    assert unanswered == [shape["shape"] for shape in usage["unanswered"]] == ["how many errors on <HOST> in <NUM>"]
    latency = page.locator("#usage-output section:has(#latency-title) .bar-name").all_inner_texts()
    assert latency == ["p50", "p95", "p99"]
    parts = page.locator("#usage-output table.latency tbody td:first-child").all_inner_texts()
    assert parts == ["Whole answer", "by the model", "extractive", "Parse", "Retrieve", "Model call", "First token"]
    shot("13-usage")
    page.locator("#usage-view").evaluate("view => view.scrollTo(0, view.scrollHeight)")
    shot("13-usage-tables")

    # Anomalies: the window's changed patterns and levels, as `logchat stat --anomalies` lists them.
    anomalies_tab = page.get_by_role("button", name="Anomalies")
    anomalies_tab.focus()
    page.keyboard.press("Enter")
    page.locator("#anomalies-output .stat-cards").wait_for()
    latest = cli_json(daemon.data, "stat", "--anomalies")
    page.locator("#anomalies-output table.anomaly-patterns tbody tr").first.wait_for()
    assert shown_anomalies(page) == expected_anomalies(latest)

    show_anomalies(page, *ANOMALY_WINDOW)
    report = cli_json(daemon.data, "stat", "--anomalies", "--since", ANOMALY_WINDOW[0], "--until", ANOMALY_WINDOW[1])
    assert {t["kind"] for t in report["templates"]} >= {"spike", "new"}
    page.locator("#anomalies-output .kind-spike").first.wait_for()
    assert shown_anomalies(page) == expected_anomalies(report)
    examples = page.locator("#anomalies-output .example-line").all_inner_texts()
    assert examples == [t["example"]["message"] for t in report["templates"]]
    levels = page.locator("#anomalies-output table.anomaly-levels tbody tr")
    assert [(row.locator("td").nth(0).inner_text(), row.locator(".score-value").inner_text()) for row in levels.all()] \
        == [(level["level"], f"{level['score']:+.2f}") for level in report["levels"]]
    window = page.locator("#anomalies-output .stat").filter(has_text="Window").locator(".stat-value").inner_text()
    assert window == f"1 h · {report['window']['events']:,} events"
    found = sum(report["counts"].values())
    if found > len(report["templates"]):
        assert f"the first {len(report['templates'])} of {found}" in page.locator("#anomalies-output").inner_text()
    shot("14-anomalies")
    page.locator("#anomalies-view").evaluate("view => view.scrollTo(0, view.scrollHeight)")
    shot("14-anomalies-levels")

    # Nothing to compare: the page says why, in the service's words.
    show_anomalies(page, *NO_BASELINE)
    empty = cli_json(daemon.data, "stat", "--anomalies", "--since", NO_BASELINE[0], "--until", NO_BASELINE[1])
    assert empty["notice"]
    page.locator("#anomalies-output .notice", has_text=empty["notice"]).wait_for()
    assert page.locator("#anomalies-output table").count() == 0
    shot("15-anomalies-notice")

    # A role taken away while the page is open: the usage view says plainly that it is not allowed.
    demoted = logchat(daemon.data, "users", "set-role", "sre-lead", "viewer")
    assert demoted.returncode == 0, demoted.stderr
    usage_tab.click()
    refused = page.locator("#usage-output .refused")
    refused.wait_for()
    assert "Your role (viewer) does not hold the analytics:read permission" in refused.inner_text()
    assert page.locator("#whoami").inner_text() == "sre-lead (viewer)"
    shot("16-usage-refused")
    assert watched.problems and all("HTTP 403" in problem or "403" in problem for problem in watched.problems), \
        watched.problems
    watched.problems.clear()

    # A viewer does not see the Usage tab at all; the anomalies are theirs to read.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").wait_for()
    sign_in(page, daemon.base, "oncall")
    page.get_by_role("button", name="Anomalies").wait_for()
    assert page.get_by_role("button", name="Usage").count() == 0
    assert page.locator("#nav button[data-view=usage]").is_hidden()
    page.get_by_role("button", name="Anomalies").click()
    page.locator("#anomalies-output .stat-cards").wait_for()
    assert page.locator("#usage-output").inner_text() == ""  # nothing left from the analyst's sign-in
    watched.check()
