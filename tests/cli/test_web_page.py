"""The web page of `logchat serve` in a real headless Chromium against a real daemon process: sign in,
ask with the answer streaming in from a (fake) model, open a citation's context, reload and find the
session again, read the stats, sign out. Any console error or CSP violation fails the test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from needs import is_ci
from test_serve_cli import PASSWORD, logchat, start, stop

CHROMIUM = "/usr/bin/chromium"
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


def _why_no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = _why_no_browser()
    if missing:
        # Only a developer's machine may lack the browser; CI installs it (.ci/run).
        if is_ci(os.environ.get("CI")):
            pytest.fail(f"{missing}: required in CI")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[str]:
    """`logchat serve` on the bundled sample logs, with the fake model streaming its reply slowly
    enough that the page shows it growing."""
    data = tmp_path / "data"
    indexed = logchat(data, "index", str(EXAMPLES))
    assert indexed.returncode == 0, indexed.stderr
    added = logchat(data, "users", "add", "oncall", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    admin = logchat(data, "users", "add", "ops-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert admin.returncode == 0, admin.stderr
    with FakeOllama(reply=REPLY) as model:
        model.chunk_delay = 0.15
        config = tmp_path / "logchat.toml"
        config.write_text(f'[llm]\nbase_url = "{model.url}"\ntimeout_seconds = 30\n', encoding="utf-8")
        process, base = start(data, config=config)
        try:
            yield base
        finally:
            code, logged = stop(process)
            assert code == 0, logged


def test_sign_in_ask_open_a_citation_reload_stats_and_sign_out(browser: Any, daemon: str, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"screenshots: {shots}", file=sys.stderr)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        f"HTTP {response.status} for {response.request.method} {response.url}"))

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=False)

    def csp_violations() -> list[str]:
        return page.evaluate("window.__cspViolations")  # type: ignore[no-any-return]

    try:
        # Sign in, with the keyboard.
        page.goto(daemon + "/")
        page.get_by_label("User name").wait_for()
        shot("01-sign-in")
        page.get_by_label("User name").fill("oncall")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.locator("#connection[data-state=online]").wait_for()
        assert page.locator("#whoami").inner_text() == "oncall (viewer)"

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
        shot("02-streaming")
        page.locator(".turn.answered").wait_for(timeout=60_000)
        shot("03-answer")
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
        shot("04-context")
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
        shot("05-after-reload")

        # Stats: levels and the time histogram.
        page.get_by_role("button", name="Stats").click()
        page.locator(".level-row").first.wait_for()
        assert page.locator("svg.histogram rect.hist-bar").count() > 1
        levels = page.locator(".level-row .level").all_inner_texts()
        assert levels and all(level.strip() for level in levels)
        assert page.locator(".stats table.patterns tbody tr").count() >= 1
        shot("06-stats")

        # Sign out: the sign-in form again, and a reload does not sign back in.
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("User name").wait_for()
        assert page.evaluate("sessionStorage.length") == 0
        page.reload()
        page.get_by_label("User name").wait_for()
        shot("07-signed-out")

    except Exception:
        shot("failure")  # what the page showed when a step failed
        print("\n".join(problems), file=sys.stderr)
        raise
    assert csp_violations() == []
    assert problems == []
    context.close()
