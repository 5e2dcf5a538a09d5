"""Settings precedence: defaults < logchat.toml < LOGCHAT_* environment < CLI flags; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from logchat.config import find_config_file, load_settings
from logchat.errors import ConfigError


def test_defaults_use_xdg_data_home(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / "xdg-data" / "logchat"
    assert settings.database_url == f"sqlite:///{tmp_path / 'xdg-data' / 'logchat' / 'logchat.db'}"
    assert settings.config_file is None


def test_precedence_file_env_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "logchat.toml").write_text(
        'data_dir = "/from/file"\n[ingest]\nbatch_size = 10\ndefault_timezone = "Europe/Berlin"\n'
        '[[sources]]\npath = "logs/*.log"\nname = "app"\n'
    )
    settings = load_settings()
    assert settings.config_file == tmp_path / "logchat.toml"
    assert settings.data_dir == Path("/from/file")
    assert settings.ingest.batch_size == 10
    assert settings.ingest.default_timezone == "Europe/Berlin"
    # Relative source paths are relative to the config file.
    assert settings.sources[0].path == str(tmp_path / "logs/*.log")
    monkeypatch.setenv("LOGCHAT_DATA_DIR", "/from/env")
    monkeypatch.setenv("LOGCHAT_INGEST__BATCH_SIZE", "20")
    settings = load_settings()
    assert settings.data_dir == Path("/from/env")
    assert settings.ingest.batch_size == 20
    assert settings.ingest.default_timezone == "Europe/Berlin"  # untouched keys keep the file's value
    settings = load_settings(data_dir=Path("/from/flag"))
    assert settings.data_dir == Path("/from/flag")


def test_config_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "xdg-config" / "logchat" / "logchat.toml"
    user.parent.mkdir(parents=True)
    user.write_text("log_level = 'INFO'\n")
    assert find_config_file() == user
    local = tmp_path / "logchat.toml"
    local.write_text("log_level = 'DEBUG'\n")
    assert find_config_file() == local
    other = tmp_path / "other.toml"
    other.write_text("")
    monkeypatch.setenv("LOGCHAT_CONFIG", str(other))
    assert find_config_file() == other
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("")
    assert find_config_file(explicit) == explicit


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[ingest]\nbatch_sise = 3\n", "'ingest.batch_sise': unknown key"),
        ("[ingest]\nbatch_size = 'many'\n", "'ingest.batch_size'"),
        ("[ingest]\ndefault_timezone = 'Mars/Olympus'\n", "unknown time zone 'Mars/Olympus'"),
        ("colour = 'blue'\n", "unknown config key 'colour'"),
        ("[[sources]]\nname = 'x'\n", "'sources.0.path'"),
        ("[ingest\n", "invalid TOML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "logchat.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_example_config_is_valid_and_documents_every_key() -> None:
    from logchat.config import Settings

    example = Path(__file__).resolve().parents[1] / "logchat.toml.example"
    settings = load_settings(example)
    assert settings.sources, "the example shows [[sources]] entries"
    text = example.read_text()
    for name, field in Settings.model_fields.items():
        if name == "config_file":
            continue
        annotation = field.annotation
        sub = getattr(annotation, "model_fields", None)
        if sub:
            assert f"[{name}]" in text, f"section [{name}] missing from logchat.toml.example"
            for key in sub:
                assert f"{key} =" in text, f"key {name}.{key} missing from logchat.toml.example"
        else:
            assert f"{name}" in text, f"key {name} missing from logchat.toml.example"
