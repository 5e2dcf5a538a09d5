"""One settings model: defaults < logchat.toml < LOGCHAT_* environment < CLI flags.

Settings are loaded once by a front end (the Typer callback or the daemon's app factory), never at
import time. Errors name the key path and the file they came from.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from logchat.errors import ConfigError

CONFIG_FILE_NAME = "logchat.toml"

# The first time pydantic builds a validator it searches every installed distribution's entry points for
# plugins (about 20 ms of CPU, on every command). Settings are validated once at start-up and need no
# plugin, so this module's models are built with the search off; the setting is restored at the end of
# the module, and models built later (the daemon's) find plugins as usual.
_PLUGINS_SETTING = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    # None means the embedded default: one SQLite file in the data dir.
    url: str | None = None
    # Log every SQL statement (SQLAlchemy's echo), for debugging.
    echo: bool = False


class RedisSettings(_Section):
    # None means in-process/database-backed shared state (single machine).
    url: str | None = None
    # Put in front of every key logchat writes, so that one Redis can serve several installations.
    key_prefix: str = "logchat:"


class SourceSettings(_Section):
    """A log source that `logchat reload` reads; relative paths are relative to the config file.

    Local: `path`. On another host over SSH: `path = "ssh://user@host:port/var/log/*.log"`, or `host`
    (an address or a ~/.ssh/config alias) with `paths` (absolute paths or globs, expanded on the host)."""

    # A file or a glob pattern (or an ssh:// URL); with `host`, unset.
    path: str
    # How answers and filters name the source (unset: its files are named after themselves).
    name: str | None = None
    # "auto" detects the format; or a format name, see `logchat index --help`.
    format: str = "auto"
    # A disabled source is kept but not read.
    enabled: bool = True
    # A remote source: the host to read `paths` on over SSH.
    host: str | None = None
    # Remote: the user to log in as (unset: ~/.ssh/config's User, else the local user name).
    user: str | None = None
    # Remote: the SSH port (unset: ~/.ssh/config's Port, else 22).
    port: int | None = Field(default=None, ge=1, le=65535)
    # Remote: the private key file (unset: ~/.ssh/config's IdentityFile, the agent and ~/.ssh/id_*). Never a password.
    identity: str | None = None
    # Remote: absolute paths or globs on the host.
    paths: list[str] = Field(default_factory=list)
    # Remote: record the key of a host not yet in known_hosts (a CHANGED key is always refused).
    accept_new_host_key: bool = False

    @model_validator(mode="before")
    @classmethod
    def _path_optional_with_host(cls, data: Any) -> Any:
        # A remote source may give `paths` instead; a local one without a path is named by its key.
        if isinstance(data, dict) and data.get("host") is not None and "path" not in data:
            return {**data, "path": ""}
        return data

    @model_validator(mode="after")
    def _local_or_remote(self) -> SourceSettings:
        from logchat.ingest.ssh_location import is_ssh_url, ssh_url

        if self.host is None:
            if self.paths or self.user or self.port:
                raise ValueError("paths, user and port belong to a remote source: set host too")
            if not self.path:
                raise ValueError("a source needs a path (or host and paths for a remote one)")
            if (self.identity or self.accept_new_host_key) and not is_ssh_url(self.path):
                raise ValueError("identity and accept_new_host_key belong to a remote (ssh://) source")
            return self
        if self.path and self.paths:
            raise ValueError("give either path or paths, not both")
        remote_paths = self.paths or ([self.path] if self.path else [])
        if not remote_paths:
            raise ValueError(f"remote source on {self.host!r}: give paths (absolute paths or globs on the host)")
        relative = [item for item in remote_paths if not item.startswith("/")]
        if relative:
            raise ValueError(f"remote paths must be absolute on the host: {relative[0]!r}")
        self.paths = remote_paths
        self.path = ", ".join(ssh_url(self.host, item, user=self.user, port=self.port) for item in remote_paths)
        return self

    def locations(self) -> list[str]:
        """What to read: the local path or ssh:// URL, or one ssh:// URL per remote path."""
        from logchat.ingest.ssh_location import ssh_url

        if self.host is None:
            return [self.path]
        return [ssh_url(self.host, item, user=self.user, port=self.port) for item in self.paths]


class RemoteSettings(_Section):
    """Reading sources on other hosts over SSH (ssh:// paths and [[sources]] with a host)."""

    # Seconds to open the TCP connection and to get the server's first answer and the login done.
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # Seconds without data from a host before a read is given up (and retried).
    read_timeout_seconds: float = Field(default=30.0, gt=0)
    # Reconnections after a connection lost in the middle of a read; each resumes at the last commit.
    retries: int = Field(default=3, ge=0)
    # The first wait before reconnecting; each further retry doubles it.
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    # Hosts connected to, their globs expanded and their files read at the same time (1: one after the other).
    max_hosts: int = Field(default=4, ge=1)
    # Host keys are checked against this file (unset: ~/.ssh/known_hosts); new keys accepted are added to it.
    known_hosts_file: str | None = None
    # Record the key of every host not yet known (a CHANGED key is always refused). Per source: accept_new_host_key.
    accept_new_host_key: bool = False


class FormatSettings(_Section):
    """A user-defined log format (`[[formats]]`); see docs/ingest.md."""

    name: str
    pattern: str
    timestamp: str = "auto"  # a strptime pattern, or auto | iso8601 | epoch
    levels: dict[str, str] = Field(default_factory=dict)
    multiline: str = "continuation"  # continuation | none
    example: str = ""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        import re

        from logchat.ingest.formats import FORMAT_NAMES

        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,47}", value):
            raise ValueError("a format name is a letter followed by up to 47 letters, digits, '_', '.' or '-'")
        if value in FORMAT_NAMES:
            raise ValueError(f"{value!r} is a built-in format; choose another name")
        return value

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        import re

        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        if not compiled.groupindex:
            raise ValueError("the pattern needs named groups, e.g. (?P<ts>...) and (?P<message>.*)")
        return value

    @field_validator("timestamp")
    @classmethod
    def _valid_timestamp(cls, value: str) -> str:
        from datetime import UTC, datetime

        from logchat.ingest.formats.user import BUILT_IN_TIMESTAMPS

        if value in BUILT_IN_TIMESTAMPS:
            return value
        if "%" not in value:
            raise ValueError(
                f"a strptime pattern such as '%Y-%m-%d %H:%M:%S', or one of {', '.join(BUILT_IN_TIMESTAMPS)}")
        sample = datetime(2026, 12, 3, 13, 16, 15, 123456, tzinfo=UTC)
        try:
            datetime.strptime(sample.strftime(value), value)
        except ValueError as exc:
            raise ValueError(f"strptime cannot read back what this pattern writes: {exc}") from exc
        return value

    @field_validator("levels")
    @classmethod
    def _valid_levels(cls, value: dict[str, str]) -> dict[str, str]:
        from logchat.ingest.levels import normalize_level

        normalised = {}
        for word, level in value.items():
            target = normalize_level(level)
            if target is None:
                raise ValueError(f"{word!r} maps to {level!r}, which is not a level (use e.g. ERROR, WARNING, INFO)")
            normalised[word] = target
        return normalised

    @field_validator("multiline")
    @classmethod
    def _valid_multiline(cls, value: str) -> str:
        from logchat.ingest.formats.user import MULTILINE_RULES

        if value not in MULTILINE_RULES:
            raise ValueError(f"one of {', '.join(MULTILINE_RULES)}")
        return value

    @model_validator(mode="after")
    def _example_matches(self) -> FormatSettings:
        import re

        if self.example and re.match(self.pattern, self.example, re.DOTALL) is None:
            raise ValueError(f"the example does not match the pattern of format {self.name!r}")
        return self


class IngestSettings(_Section):
    # Events per transaction; the checkpoint is committed with each batch.
    batch_size: int = Field(default=20_000, ge=1)
    # Longer lines are truncated with a marker.
    max_line_bytes: int = Field(default=65_536, ge=256)
    # The time zone of timestamps that carry none.
    default_timezone: str = "UTC"
    # Join stack traces and indented lines to the event before them.
    multiline: bool = True
    # How long `index`/`reload` waits for another one to finish (0: refuse at once).
    lock_timeout_seconds: float = Field(default=0.0, ge=0)
    # `index --follow`: look for appended lines every this many seconds instead of waiting for inotify
    # events (unset: inotify, and polling every 0.5 s where inotify is unavailable).
    follow_poll_interval: float | None = Field(default=None, gt=0)
    # `index --follow`: new lines are committed (searchable) at least this often while a burst is read.
    follow_batch_seconds: float = Field(default=0.5, gt=0)
    # `index --follow`: the vector index takes in new events at most this often.
    follow_vector_seconds: float = Field(default=5.0, ge=0)
    # Read named, typed fields (user=, status=, latency...) from every event at ingest: `ask` computes
    # top values, max/min/sum/avg and field conditions on them, and `logchat fields` lists them. Turning
    # it off makes ingest cheaper (measured in docs/ingest.md) and leaves those questions unanswered;
    # events stored while it is off are read by the first `logchat index`, `reload` or `fields` after
    # turning it on.
    fields: bool = True

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class AuthSettings(_Section):
    # None: generated once into <data_dir>/jwt-secret with 0600 permissions.
    jwt_secret: SecretStr | None = None
    # Earlier secrets, accepted when checking tokens but never used to sign: while rotating, tokens
    # signed with the old secret keep working until they expire. Env: a JSON list.
    jwt_previous_secrets: list[SecretStr] = Field(default_factory=list)
    # How long an access token is accepted; a refresh token gets a new one.
    access_token_ttl_seconds: int = Field(default=900, ge=10)
    # How long a sign-in lasts without signing in again.
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    min_password_length: int = Field(default=10, ge=6)
    # Failures per user name before the account is locked for a while.
    max_failed_logins: int = Field(default=5, ge=1)
    # The first lock; each further failure doubles it.
    lockout_seconds: float = Field(default=60.0, ge=0)
    # Failures from one client address before it is locked (higher: many people may share one NAT).
    max_failed_logins_per_address: int = Field(default=20, ge=1)
    # Each failure after a lock doubles the lock, up to this.
    max_lockout_seconds: float = Field(default=3600.0, ge=0)
    # Failures are forgotten after this long without one (counted from the end of the last lock).
    failure_window_seconds: float = Field(default=900.0, ge=0)


class LLMSettings(_Section):
    # "ollama", "none", or a dotted import path of a LangChain chat model class.
    provider: str = "ollama"
    # The model's name on the model server.
    model: str = "llama3.2"
    # The model server (Ollama's address).
    base_url: str = "http://127.0.0.1:11434"
    temperature: float = 0.0
    # The longest an answer may take.
    timeout_seconds: float = Field(default=120.0, gt=0)
    # How long to wait for the model server to answer a connection; unreachable: an extractive answer.
    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    # Tokens of patterns and evidence lines sent to the model.
    context_token_budget: int = Field(default=3_000, ge=200)
    # Rounds of tool calls (count, search, aggregate a field, top values, time series, context of a line)
    # the model may make before it must answer; 0: no tools, one plain answer.
    max_tool_steps: int = Field(default=4, ge=0, le=20)
    # Extra keyword arguments for the chat model class.
    options: dict[str, Any] = Field(default_factory=dict)


class EmbeddingSettings(_Section):
    # "hashing" works offline with no download; "ollama" asks the model server.
    provider: Literal["hashing", "ollama"] = "hashing"
    # The embedding model's name on the model server ("ollama" only).
    model: str = "nomic-embed-text"
    # None: llm.base_url.
    base_url: str | None = None
    dimensions: int = Field(default=384, ge=16)


class RetrievalSettings(_Section):
    # Log lines cited as evidence in an answer.
    evidence_lines: int = Field(default=20, ge=1)
    # Message patterns (templates) shown with an answer.
    top_patterns: int = Field(default=10, ge=1)
    # Vector-search neighbours that re-rank and complete the events a question matches.
    candidate_pool: int = Field(default=200, ge=10)
    # Consecutive events of one source that are embedded together as one window.
    window_size: int = Field(default=20, ge=1)


class ServeSettings(_Section):
    """`logchat serve`: where it listens and how long a stop waits for answers in flight."""

    # The address to listen on (--host wins); 0.0.0.0 for every interface.
    host: str = "127.0.0.1"
    # The port (--port wins); 0 picks a free one.
    port: int = Field(default=8080, ge=0, le=65535)
    # SIGTERM/SIGINT stop accepting at once; requests in flight get this long to finish.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    # Synchronous work (SQL, FAISS, the model client) runs in this many threads, off the event loop.
    worker_threads: int = Field(default=8, ge=1, le=256)
    # Answers run in a pool of their own, since each holds its thread while the model writes: this many
    # answers are worked on at once, the rest wait their turn. Match it to what the model server runs
    # in parallel (Ollama: OLLAMA_NUM_PARALLEL); more threads only queue inside the model server.
    answer_threads: int = Field(default=4, ge=1, le=256)
    # Questions one account may have in flight at once, over all of its sockets and requests (429 beyond).
    # Counted in Redis, over every replica, when redis.url is set, else in this process.
    questions_per_user: int = Field(default=4, ge=1, le=1000)
    # Requests a minute before 429 (0 = unlimited): sign-ins per client address, questions and
    # reloads per user. Counted in Redis when redis.url is set, else in this process.
    login_rate_per_minute: int = Field(default=30, ge=0)
    # Questions a minute per user before 429 (0 = unlimited).
    ask_rate_per_minute: int = Field(default=30, ge=0)
    # Reloads a minute per user before 429 (0 = unlimited).
    reload_rate_per_minute: int = Field(default=6, ge=0)
    # HTTPS when both are set (PEM files); responses then carry Strict-Transport-Security.
    tls_certificate: Path | None = None
    # The certificate's private key (PEM).
    tls_key: Path | None = None
    # Browser origins allowed to call the API from other sites (CORS); empty = same origin only.
    cors_origins: list[str] = Field(default_factory=list)
    # Background jobs of the daemon: reload every configured source this often (0: only on request).
    reload_interval_seconds: float = Field(default=0.0, ge=0)
    # Follow every enabled configured source as it grows, as `logchat index --follow` does: an appended
    # line is searchable within seconds, without a reload. With redis.url, one replica follows at a time.
    follow: bool = False
    # Chat turns older than this many days are deleted, with sessions left empty (0: keep forever).
    chat_retention_days: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _tls_pair(self) -> ServeSettings:
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise ValueError("tls_certificate and tls_key go together: set both or neither")
        return self


class RetentionSettings(_Section):
    """How long logchat keeps log events and its own records, in days (0: forever). Applied by the
    daemon's hourly retention job and by `logchat maintenance prune`. Chat history:
    serve.chat_retention_days."""

    # Log events whose timestamp is older than this many days are deleted (from the start of that hour),
    # with their full-text rows; counts, patterns and the vector index follow. Events without a
    # timestamp are kept. Checkpoints stay: deleted lines are never read again.
    events_days: float = Field(default=0.0, ge=0)

    # Audit entries older than this many days are deleted, oldest first (the chain still verifies).
    audit_days: float = Field(default=0.0, ge=0)
    # Usage records (`stat --usage`, the analytics routes) older than this many days are deleted.
    usage_days: float = Field(default=0.0, ge=0)


class LoggingSettings(_Section):
    """logchat's own log lines, on stderr (docs/operations.md, "logchat's own logs")."""

    # "json": one JSON object a line (timestamp, level, logger, message, request_id, user_id, route,
    # duration_ms), for a log shipper; "text": one readable line.
    format: Literal["text", "json"] = "text"
    # The daemon's lines at this level and above; commands other than `serve` write warnings only.
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsSettings(_Section):
    """`/metrics` of `logchat serve`, for Prometheus (docs/operations.md)."""

    # false: no /metrics (404) and no request counting.
    enabled: bool = True
    # None: served on the daemon's own port. A number: on a listener of its own instead (plain HTTP,
    # at ``host``, default serve.host), so the API port need not be reachable by the scrapers.
    port: int | None = Field(default=None, ge=0, le=65535)
    # The address of that listener (None: serve.host).
    host: str | None = None
    # Who may scrape: anyone ("open"); the holder of ``token`` or of an admin's access token ("token");
    # clients from ``allow_addresses`` ("addresses", CIDR blocks).
    access: Literal["open", "token", "addresses"] = "open"
    # With access = "token": the static bearer token scrapers send.
    token: SecretStr | None = None
    # With access = "addresses": the CIDR blocks of the clients allowed.
    allow_addresses: list[str] = Field(default_factory=list)
    # Store-wide values (events, templates, lag...) are read from the database at most this often.
    store_cache_seconds: float = Field(default=10.0, ge=0)
    # Anomaly scores (the last hour against the week before, docs/anomalies.md) are computed at most
    # this often.
    anomaly_cache_seconds: float = Field(default=60.0, ge=0)

    @field_validator("allow_addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or CIDR block (e.g. 10.0.0.0/8)") from None
        return value

    @model_validator(mode="after")
    def _access_complete(self) -> MetricsSettings:
        if self.access == "addresses" and not self.allow_addresses:
            raise ValueError('access = "addresses" needs allow_addresses (CIDR blocks)')
        return self


# Environment variables: LOGCHAT_DATA_DIR, LOGCHAT_AUTH__JWT_SECRET (a path with __ between levels).
ENV_PREFIX = "LOGCHAT_"
ENV_NESTED_DELIMITER = "__"
# Top-level settings whose environment value is passed on as it is (no JSON, no nesting): with only
# these set, the environment is read here without importing pydantic-settings (see _environment_values).
_PLAIN_ENV_FIELDS = frozenset({"data_dir"})


class Settings(BaseModel):
    # The model's own checks are those pydantic-settings' BaseSettings applied: stray keys are ignored
    # at the top level (so unrelated LOGCHAT_* variables do no harm) and defaults are validated too.
    model_config = ConfigDict(extra="ignore", validate_default=True, arbitrary_types_allowed=True)

    # Where the store lives: the SQLite file, the vector index, generated secrets (--data-dir wins).
    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    formats: list[FormatSettings] = Field(default_factory=list)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    # Where the values came from; not a setting.
    config_file: Path | None = Field(default=None, exclude=True)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_dir / 'logchat.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _environment_values(environ: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    """The settings given by LOGCHAT_* environment variables, as pydantic-settings reads them.

    pydantic-settings (nested keys, JSON for lists and tables, case-insensitive names) costs more
    to import than the rest of the settings: a command that starts in a fraction of a second pays
    for it only when the environment holds something to parse. Names are compared in lower case,
    as pydantic-settings compares them; a variable naming no setting is ignored, as it ignores it.
    """
    prefix = ENV_PREFIX.lower()
    given = {name.lower()[len(prefix) :]: value for name, value in environ.items() if name.lower().startswith(prefix)}
    fields = set(Settings.model_fields)
    wanted = {
        key: value for key, value in given.items() if key in fields or key.split(ENV_NESTED_DELIMITER, 1)[0] in fields
    }
    if set(wanted) <= _PLAIN_ENV_FIELDS:
        return wanted
    from pydantic_settings import EnvSettingsSource

    source = EnvSettingsSource(
        Settings,  # type: ignore[arg-type]  # a plain model: only its fields and their types are read
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )
    return source()


def _deep_update(base: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each of ``updates`` laid over it in turn, tables merged key by key (as pydantic-settings
    merges its sources: a key set in the environment replaces that key of the file's table, not the table)."""
    merged = dict(base)
    for update in updates:
        for key, value in update.items():
            if isinstance(merged.get(key), dict) and isinstance(value, dict):
                merged[key] = _deep_update(merged[key], value)
            else:
                merged[key] = value
    return merged


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "logchat"


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """--config, then $LOGCHAT_CONFIG, then ./logchat.toml, then $XDG_CONFIG_HOME/logchat/logchat.toml."""
    if explicit:
        path = Path(explicit).expanduser()
        if not _is_file(path, missing_ok=False):
            raise ConfigError(f"config file not found: {path}")
        return path
    env_path = os.environ.get("LOGCHAT_CONFIG")
    if env_path:
        path = Path(env_path).expanduser()
        if not _is_file(path, missing_ok=False):
            raise ConfigError(f"config file not found: {path} (from LOGCHAT_CONFIG)")
        return path
    local = Path.cwd() / CONFIG_FILE_NAME
    if _is_file(local, missing_ok=True):
        return local
    try:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    except RuntimeError:  # no home directory to be found: there is no user config either
        return None
    user = Path(xdg) / "logchat" / CONFIG_FILE_NAME
    if _is_file(user, missing_ok=True):
        return user
    return None


def _is_file(path: Path, *, missing_ok: bool) -> bool:
    """Whether a config file is there. A directory we may not search holds none we could read.

    For the places searched by default (``missing_ok``), an unreadable directory on the way (say a
    ``~/.config`` with mode 000) means "no config here", not an error on every command. A file that
    is there but unreadable is still found, and read_toml() reports it in one line.
    """
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except PermissionError as exc:
        if missing_ok:
            return False
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except (OSError, ValueError):
        return False


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {_encoding_problem(path, exc)}", hint="save the file as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc


def _encoding_problem(path: Path, exc: UnicodeDecodeError) -> str:
    head = exc.object[:4] if isinstance(exc.object, bytes) else b""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16; TOML must be UTF-8"
    return f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); TOML must be UTF-8"


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings. ``overrides`` are CLI flags, e.g. ``data_dir=...``; None values are ignored."""
    path = find_config_file(config_file)
    values = read_toml(path) if path else {}
    flags = {key: value for key, value in overrides.items() if value is not None}
    _check_unknown_keys(values, path)
    try:
        # Flags win over the environment, the environment over the file.
        settings = Settings(**_deep_update(values, _environment_values(os.environ), flags))
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path)) from exc
    settings.config_file = path
    settings.data_dir = settings.data_dir.expanduser()
    _check_relative_source_paths(settings, path)
    install_user_formats(settings)
    return settings


def install_user_formats(settings: Settings) -> None:
    """Make the `[[formats]]` of these settings the ones detection and parsing know."""
    import sys

    if settings.formats or "logchat.ingest.formats.user" in sys.modules:  # no import just to clear nothing
        from logchat.ingest.formats.user import from_settings, set_user_formats

        set_user_formats(from_settings(settings.formats))


def _check_unknown_keys(values: dict[str, Any], path: Path | None) -> None:
    # Top level is lenient in pydantic-settings (so stray LOGCHAT_* env vars do no harm), but a
    # typo in the file must not be silently ignored.
    known = set(Settings.model_fields) - {"config_file"}
    for key in values:
        if key not in known:
            where = f" in {path}" if path else ""
            raise ConfigError(f"unknown config key {key!r}{where}", hint=_unknown_key_hint(key, known))


# Keys that once existed, and why they are gone: a file written for an older version gets told.
_REMOVED_KEYS = {
    "log_level": "'log_level' was removed: [logging] level sets the level of logchat's own log lines;"
                 " --debug shows tracebacks",
}


def _unknown_key_hint(key: str, known: set[str]) -> str:
    import difflib

    if key in _REMOVED_KEYS:
        return _REMOVED_KEYS[key]
    close = difflib.get_close_matches(key, sorted(known), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "known top-level keys: " + ", ".join(sorted(known))


def _check_relative_source_paths(settings: Settings, path: Path | None) -> None:
    # Relative source paths are relative to the config file, so cron jobs work from any cwd.
    if path is None:
        return
    for source in settings.sources:
        if source.host is not None or source.path == "-" or "://" in source.path:
            continue
        candidate = Path(source.path).expanduser()
        if not candidate.is_absolute():
            source.path = str(path.parent / candidate)


def _describe_validation_error(exc: ValidationError, path: Path | None) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    origin = f" ({path})" if path else ""
    more = len(exc.errors()) - 1
    suffix = f" (+{more} more)" if more > 0 else ""
    return f"config key {key!r}: {message}{origin}{suffix}"


def _restore_plugins_setting() -> None:
    if _PLUGINS_SETTING is None:
        os.environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
    else:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = _PLUGINS_SETTING


_restore_plugins_setting()
