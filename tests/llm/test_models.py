"""The chat-model factory and the reachability probe, against the fake Ollama server."""

from __future__ import annotations

import httpx
import pytest
from fake_ollama import FakeOllama

from logchat.config import LLMSettings
from logchat.errors import ConfigError
from logchat.llm.models import check_reachable, make_chat_model, ollama_base_url

FAKE_CHAT = "langchain_core.language_models.fake_chat_models.FakeListChatModel"


def test_provider_none_means_no_model() -> None:
    assert make_chat_model(LLMSettings(provider="none")) is None
    assert check_reachable(LLMSettings(provider="none")) is False


def test_ollama_model_talks_to_the_configured_server(fake_ollama: FakeOllama, settings_for) -> None:
    fake_ollama.reply = "sshd rejected 3 logins [E1]."
    settings = settings_for(fake_ollama, temperature=0.2, options={"num_ctx": 8192, "top_k": 5})
    model = make_chat_model(settings)
    answer = model.invoke("why?")
    assert answer.content == "sshd rejected 3 logins [E1]."
    body = fake_ollama.last_chat_request
    assert body["model"] == "llama3.2"
    assert body["options"]["temperature"] == 0.2
    assert body["options"]["num_ctx"] == 8192
    assert body["options"]["top_k"] == 5


def test_ollama_model_gives_up_after_the_read_timeout(fake_ollama: FakeOllama, settings_for) -> None:
    fake_ollama.first_byte_delay = 30
    model = make_chat_model(settings_for(fake_ollama, timeout_seconds=0.2))
    with pytest.raises(httpx.ReadTimeout):
        model.invoke("why?")


def test_unknown_ollama_option_names_the_key(fake_ollama: FakeOllama, settings_for) -> None:
    with pytest.raises(ConfigError, match=r"llm\.options\.num_ctxx"):
        make_chat_model(settings_for(fake_ollama, options={"num_ctxx": 1}))


def test_bad_option_value_names_the_key(fake_ollama: FakeOllama, settings_for) -> None:
    with pytest.raises(ConfigError, match=r"llm\.options\.num_ctx"):
        make_chat_model(settings_for(fake_ollama, options={"num_ctx": "lots"}))


@pytest.mark.parametrize("path", [FAKE_CHAT, FAKE_CHAT.rsplit(".", 1)[0] + ":FakeListChatModel"])
def test_dotted_import_path_builds_that_class(path: str) -> None:
    settings = LLMSettings(provider=path, options={"responses": ["It was the disk [E1]."]})
    model = make_chat_model(settings)
    assert type(model).__name__ == "FakeListChatModel"
    assert model.invoke("why?").content == "It was the disk [E1]."


def test_dotted_path_rejects_options_the_class_does_not_have() -> None:
    with pytest.raises(ConfigError, match=r"llm\.options\.respones"):
        make_chat_model(LLMSettings(provider=FAKE_CHAT, options={"respones": ["x"]}))


@pytest.mark.parametrize(
    ("provider", "fragment"),
    [
        ("no_such_package.ChatModel", "cannot import module 'no_such_package'"),
        ("langchain_core.language_models.NoSuchChat", "has no class 'NoSuchChat'"),
        ("collections.OrderedDict", "is not a LangChain chat model class"),
        ("openai", "unknown provider 'openai'"),
    ],
)
def test_bad_provider_is_a_config_error_naming_llm_provider(provider: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_chat_model(LLMSettings(provider=provider))
    assert "llm.provider" in str(caught.value)
    assert fragment in str(caught.value)
    assert caught.value.exit_code == 2


def test_check_reachable_true_for_a_running_server(fake_ollama: FakeOllama, settings_for) -> None:
    assert check_reachable(settings_for(fake_ollama)) is True
    assert fake_ollama.requests[-1].path == "/api/tags"


def test_check_reachable_false_for_a_closed_port(closed_port: int) -> None:
    settings = LLMSettings(base_url=f"http://127.0.0.1:{closed_port}", connect_timeout_seconds=0.5)
    assert check_reachable(settings) is False


def test_check_reachable_false_when_the_server_is_not_ollama(fake_ollama: FakeOllama) -> None:
    # Something answers on the port, but not with Ollama's API.
    settings = LLMSettings(base_url=f"{fake_ollama.url}/not-ollama")
    assert check_reachable(settings) is False


def test_other_providers_are_assumed_reachable() -> None:
    assert check_reachable(LLMSettings(provider=FAKE_CHAT)) is True


def test_ollama_host_is_used_when_base_url_is_not_configured(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{fake_ollama.port}")
    settings = LLMSettings()
    assert ollama_base_url(settings) == fake_ollama.url
    assert check_reachable(settings) is True
    assert make_chat_model(settings).invoke("hi").content == fake_ollama.reply


def test_configured_base_url_wins_over_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.9")
    assert ollama_base_url(LLMSettings(base_url="http://model-box:11434/")) == "http://model-box:11434"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("10.0.0.9", "http://10.0.0.9:11434"),
        (":5000", "http://127.0.0.1:5000"),
        ("https://models.example.com", "https://models.example.com"),
        ("http://user:pw@box:8080/ollama/", "http://user:pw@box:8080/ollama"),
        ("[::1]:7000", "http://[::1]:7000"),
    ],
)
def test_ollama_host_forms(host: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert ollama_base_url(LLMSettings()) == url
