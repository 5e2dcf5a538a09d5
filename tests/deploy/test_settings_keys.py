"""Every LOGCHAT_* variable in the deployment files is one that logchat reads."""

from __future__ import annotations

import pytest

from tests.deploy.deploy_tools import CONTRIB, ROOT
from tests.deploy.settings_keys import env_names_in, is_setting

DEPLOYMENT_FILES = sorted(
    path for path in [*CONTRIB.rglob("*"), *(ROOT / ".github").rglob("*.yml"), ROOT / "docs" / "install.md"]
    if path.is_file()
)


def test_the_deployment_files_set_logchat_variables() -> None:
    names = set().union(*(env_names_in(path) for path in DEPLOYMENT_FILES))
    # The files that configure logchat through its environment are all among those checked.
    assert {"LOGCHAT_DATABASE__URL", "LOGCHAT_REDIS__URL", "LOGCHAT_AUTH__JWT_SECRET", "LOGCHAT_DATA_DIR"} <= names


@pytest.mark.parametrize("path", DEPLOYMENT_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_logchat_variable_exists_in_the_settings_model(path) -> None:
    unknown = sorted(name for name in env_names_in(path) if not is_setting(name))
    assert not unknown, f"{path.relative_to(ROOT)} sets variables logchat does not read: {unknown}"


def test_misspelt_and_partial_names_are_refused() -> None:
    assert is_setting("LOGCHAT_SERVE__SHUTDOWN_GRACE_SECONDS")
    assert is_setting("LOGCHAT_SOURCES")
    assert not is_setting("LOGCHAT_AUTH__JWT_SECRETS")
    assert not is_setting("LOGCHAT_DATABASE_URL")  # one underscore: not nested, so not read
    assert not is_setting("LOGCHAT_DATA_DIR__X")
    assert not is_setting("LOGCHAT_CONFIG_FILE")
