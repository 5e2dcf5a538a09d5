"""Which LOGCHAT_* environment variables the settings model reads (the deployment files may set no other)."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from logchat.config import Settings

# Read outside the model: find_config_file() takes the config file's path from it.
READ_OUTSIDE_THE_MODEL = {"LOGCHAT_CONFIG"}
# Read by the test suite only, never by a deployed logchat.
TEST_ONLY = {"LOGCHAT_TEST_DATABASE_URL", "LOGCHAT_TEST_REDIS_URL"}

ENV_NAME = re.compile(r"\bLOGCHAT_[A-Z0-9_]+\b")


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model = _model_of(arg)
            if model is not None:
                return model
    return None


def is_setting(env_name: str) -> bool:
    """LOGCHAT_AUTH__JWT_SECRET -> Settings.auth.jwt_secret exists (pydantic-settings: prefix, then `__`)."""
    if env_name in READ_OUTSIDE_THE_MODEL:
        return True
    if not env_name.startswith("LOGCHAT_"):
        return False
    model: type[BaseModel] | None = Settings
    for part in env_name.removeprefix("LOGCHAT_").lower().split("__"):
        if model is None or part not in model.model_fields or part == "config_file":
            return False
        model = _model_of(model.model_fields[part].annotation)
    return True


def env_names_in(path: Path) -> set[str]:
    return set(ENV_NAME.findall(path.read_text(encoding="utf-8"))) - TEST_ONLY
