"""Fixtures for the llm tests: a fake Ollama server per test, a closed port, a settings factory."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from fake_ollama import FakeOllama, fake_ollama  # noqa: F401  (re-exported fixture)

from logchat.config import LLMSettings


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening on it (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings_for() -> Callable[..., LLMSettings]:
    """LLM settings pointing at a fake server, with generous timeouts unless overridden."""

    def make(server: FakeOllama, **overrides: object) -> LLMSettings:
        values: dict[str, object] = {
            "provider": "ollama",
            "model": "llama3.2",
            "base_url": server.url,
            "timeout_seconds": 10.0,
            "connect_timeout_seconds": 2.0,
        }
        values.update(overrides)
        return LLMSettings(**values)

    return make
