"""Settings precedence: defaults < logchat.toml < LOGCHAT_* environment < CLI flags; clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
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
    user.write_text("[ingest]\nbatch_size = 1\n")
    assert find_config_file() == user
    local = tmp_path / "logchat.toml"
    local.write_text("[ingest]\nbatch_size = 2\n")
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


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[ingest]\nbatch_size = 3\n'.encode("utf-16"), "the file is UTF-16; TOML must be UTF-8"),
        (b'# caf\xe9\n[ingest]\nbatch_size = 3\n', "not valid UTF-8 (byte 0xe9 at offset 5); TOML must be UTF-8"),
    ],
    ids=["utf-16", "latin-1"],
)
def test_config_file_not_in_utf8_is_one_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "logchat.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"{path}: {expected}"
    assert caught.value.hint == "save the file as UTF-8"


def test_removed_log_level_key_is_an_unknown_key_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "logchat.toml").write_text('log_level = "LOUD"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"unknown config key 'log_level' in {tmp_path / 'logchat.toml'}"
    assert caught.value.hint and "log_level' was removed" in caught.value.hint
    (tmp_path / "logchat.toml").write_text('data_dri = "/x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.hint == "did you mean 'data_dir'?"


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # As root, file modes only apply once CAP_DAC_OVERRIDE is dropped; the user stays the same.
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    return subprocess.run([*drop, sys.executable, "-m", "logchat", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=60)


def test_unreadable_config_directory_means_no_config_there(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config").chmod(0)
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    xdg.chmod(0)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "data")}
    for extra in ({"XDG_CONFIG_HOME": ""}, {"XDG_CONFIG_HOME": str(xdg)}):
        result = _cli("stat", "--json", env={**env, **extra}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""


def test_config_file_that_exists_but_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "logchat" / "logchat.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[ingest]\nbatch_size = 3\n")
    config.chmod(0)
    result = _cli("stat", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "XDG_DATA_HOME": str(tmp_path / "d")},
                  cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"logchat: error: {config}: cannot read config file: Permission denied\n"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    result = _cli("--config", str(locked / "logchat.toml"), "stat", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"logchat: error: cannot read config file {locked / 'logchat.toml'}: Permission denied\n"


def test_environment_nested_keys_json_values_and_tables_merge_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "logchat.toml").write_text("[database]\necho = true\n[serve]\nport = 9000\n[ingest]\nbatch_size = 10\n")
    monkeypatch.setenv("LOGCHAT_DATABASE", '{"url": "sqlite:////srv/logchat/store.db"}')
    monkeypatch.setenv("LOGCHAT_SERVE__CORS_ORIGINS", '["https://ops.example.com"]')
    monkeypatch.setenv("logchat_ingest__batch_size", "30")  # names are not case-sensitive
    monkeypatch.setenv("LOGCHAT_NOT_A_SETTING", "ignored")
    settings = load_settings()
    # A table from the environment replaces only the keys it names.
    assert settings.database.url == "sqlite:////srv/logchat/store.db"
    assert settings.database.echo is True
    assert settings.serve.cors_origins == ["https://ops.example.com"]
    assert settings.serve.port == 9000
    assert settings.ingest.batch_size == 30
    assert load_settings(ingest={"batch_size": 40}).ingest.batch_size == 40


def test_a_wrong_environment_value_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGCHAT_INGEST__BATCH_SIZE", "many")
    with pytest.raises(ConfigError, match=r"config key 'ingest\.batch_size'"):
        load_settings()


def test_settings_from_a_plain_environment_do_not_load_the_environment_parser(tmp_path: Path) -> None:
    # pydantic-settings costs a start-up-bound command more than the rest of its settings: it is
    # imported only when the environment holds nested keys or JSON to parse.
    probe = "import sys; from logchat.config import load_settings; s = load_settings(); "
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    plain = subprocess.run(
        [sys.executable, "-c", probe + "print(s.data_dir, 'pydantic_settings' in sys.modules)"],
        env=env | {"LOGCHAT_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert plain.stdout.split() == [str(tmp_path / "data"), "False"]
    nested = subprocess.run(
        [sys.executable, "-c", probe + "print(s.ingest.batch_size, 'pydantic_settings' in sys.modules)"],
        env=env | {"LOGCHAT_INGEST__BATCH_SIZE": "7"}, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert nested.stdout.split() == ["7", "True"]


@pytest.mark.parametrize("user_value", [None, "some_plugin"])
def test_settings_models_skip_the_pydantic_plugin_search_and_leave_it_to_later_models(
    tmp_path: Path, user_value: str | None
) -> None:
    # The search reads every installed distribution's entry points: a cost on every command that the
    # settings (validated once, with no plugin) need not pay. Models built afterwards still search.
    probe = (
        "import importlib.metadata, os\n"
        "groups = []\n"
        "search = importlib.metadata.entry_points\n"
        "importlib.metadata.entry_points = lambda **kw: groups.append(kw.get('group')) or search(**kw)\n"
        "from logchat.config import load_settings\n"
        "load_settings()\n"
        "print(groups, os.environ.get('PYDANTIC_DISABLE_PLUGINS'))\n"
        "from pydantic import BaseModel\n"
        "class Later(BaseModel):\n"
        "    x: int\n"
        "print(groups)\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "PYDANTIC_DISABLE_PLUGINS" and not key.startswith("LOGCHAT_")
    }
    env["LOGCHAT_DATA_DIR"] = str(tmp_path / "data")
    if user_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = user_value
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after_settings, after_later = done.stdout.splitlines()
    assert after_settings == f"[] {user_value}"
    assert after_later == "['pydantic']"
