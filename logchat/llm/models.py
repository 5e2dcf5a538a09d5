"""Build the configured chat model, and tell quickly whether it can be reached.

``llm.provider`` is "ollama" (the default), "none" (extractive answers only) or the dotted import
path of any LangChain chat model class, e.g. ``langchain_openai.ChatOpenAI``. LangChain and the
provider packages are imported here, inside the functions, because they cost about a second.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from logchat.errors import ConfigError
from logchat.redaction import redact_url

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from logchat.config import LLMSettings

OLLAMA_DEFAULT_PORT = 11434


def make_chat_model(settings: LLMSettings) -> BaseChatModel | None:
    """The chat model for ``settings``, or None when ``llm.provider`` is "none"."""
    provider = settings.provider.strip()
    if provider.lower() == "none":
        return None
    if provider.lower() == "ollama":
        return _make_ollama(settings)
    if "." not in provider.replace(":", "."):
        raise ConfigError(
            f"config key 'llm.provider': unknown provider {provider!r}",
            hint="use 'ollama', 'none' or the dotted import path of a LangChain chat model class",
        )
    return _make_from_import_path(provider, settings)


def check_reachable(settings: LLMSettings) -> bool:
    """True when the model server answers. A refused connection is detected at once.

    Only Ollama can be probed without knowing the provider; other providers are assumed
    reachable, and a failure while answering still falls back to an extractive answer.
    """
    provider = settings.provider.strip().lower()
    if provider == "none":
        return False
    if provider != "ollama":
        return True
    import httpx

    timeout = httpx.Timeout(settings.connect_timeout_seconds)
    try:
        response = httpx.get(f"{ollama_base_url(settings)}/api/tags", timeout=timeout)
    except (httpx.HTTPError, OSError, ValueError):
        return False
    return response.status_code == 200


def ollama_base_url(settings: LLMSettings) -> str:
    """``llm.base_url``; when it was not configured, ``$OLLAMA_HOST`` as the ollama client reads it."""
    configured = "base_url" in settings.model_fields_set
    env_host = os.environ.get("OLLAMA_HOST", "").strip()
    if configured or not env_host:
        return settings.base_url.rstrip("/")
    return _normalise_ollama_host(env_host)


def _normalise_ollama_host(host: str) -> str:
    # Same reading as the ollama client: "host", "host:port", ":port" or a full URL.
    if "://" not in host:
        host = f"http://{host}"
        default_port: int | None = OLLAMA_DEFAULT_PORT
    else:
        default_port = None
    parts = urlsplit(host)
    hostname = parts.hostname or "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ConfigError(f"OLLAMA_HOST={redact_url(host)!r} is not a valid host") from exc
    netloc = f"{hostname}:{port}" if port else hostname
    if parts.username:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{credentials}@{netloc}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _make_ollama(settings: LLMSettings) -> BaseChatModel:
    import httpx
    from langchain_ollama import ChatOllama

    # The read timeout bounds the wait for each streamed chunk, not the whole answer.
    timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
    kwargs: dict[str, Any] = {
        "model": settings.model,
        "base_url": ollama_base_url(settings),
        "temperature": settings.temperature,
        "client_kwargs": {"timeout": timeout},
    }
    _reject_unknown_options(ChatOllama, settings.options)
    kwargs.update(settings.options)
    return _instantiate(ChatOllama, kwargs)


def _make_from_import_path(path: str, settings: LLMSettings) -> BaseChatModel:
    from langchain_core.language_models import BaseChatModel

    chat_class = _import_class(path)
    if not (isinstance(chat_class, type) and issubclass(chat_class, BaseChatModel)):
        raise ConfigError(f"config key 'llm.provider': {path!r} is not a LangChain chat model class")
    accepted = _accepted_arguments(chat_class)
    kwargs: dict[str, Any] = {}
    if "model" in accepted:
        kwargs["model"] = settings.model
    if "temperature" in accepted:
        kwargs["temperature"] = settings.temperature
    if "timeout" in accepted:
        kwargs["timeout"] = settings.timeout_seconds
    # The default base_url points at a local Ollama; hand it on only when it was configured.
    if "base_url" in accepted and "base_url" in settings.model_fields_set:
        kwargs["base_url"] = settings.base_url
    # Classes with a model_kwargs field collect extra arguments there on purpose.
    if "model_kwargs" not in accepted:
        _reject_unknown_options(chat_class, settings.options)
    kwargs.update(settings.options)
    return _instantiate(chat_class, kwargs)


def _import_class(path: str) -> Any:
    module_name, _, class_name = path.replace(":", ".").rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"config key 'llm.provider': cannot import module {module_name!r} ({exc})",
            hint="install the package that provides it, or use 'ollama' or 'none'",
        ) from exc
    try:
        return getattr(module, class_name)
    except AttributeError as exc:
        raise ConfigError(f"config key 'llm.provider': module {module_name!r} has no class {class_name!r}") from exc


def _accepted_arguments(chat_class: type) -> set[str]:
    names: set[str] = set()
    for name, field in getattr(chat_class, "model_fields", {}).items():
        names.add(name)
        if isinstance(field.alias, str):
            names.add(field.alias)
    return names


def _reject_unknown_options(chat_class: type, options: dict[str, Any]) -> None:
    # LangChain models ignore unknown keyword arguments, so a typo would pass silently.
    accepted = _accepted_arguments(chat_class)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"config key 'llm.options.{unknown[0]}': not an option of {chat_class.__name__}",
        )


def _instantiate(chat_class: type, kwargs: dict[str, Any]) -> BaseChatModel:
    from pydantic import ValidationError

    try:
        return chat_class(**kwargs)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "?"
        raise ConfigError(f"config key 'llm.options.{key}': {first['msg']}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config key 'llm.options': {chat_class.__name__} rejected the options ({exc})") from exc
