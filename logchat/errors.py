"""Domain errors. Raised in the core, translated once at each edge (CLI wrapper, HTTP middleware).

Each error carries the exit code the CLI uses and the HTTP status the daemon answers with, so both
front ends agree on what a condition means.
"""

from __future__ import annotations


class LogchatError(Exception):
    exit_code: int = 1
    http_status: int = 500
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(LogchatError):
    """A wrong key, a wrong value or an unreadable configuration file."""

    exit_code = 2
    code = "config_error"


class UsageError(LogchatError):
    """The caller asked for something malformed (bad flag value, bad request body)."""

    exit_code = 2
    http_status = 400
    code = "bad_request"


class NotFound(LogchatError):
    exit_code = 1
    http_status = 404
    code = "not_found"


class SourceError(LogchatError):
    """One source could not be read; other sources in the same run are still processed."""

    exit_code = 1
    http_status = 422
    code = "source_error"


class SourceNotFound(SourceError):
    code = "source_not_found"


class SourceUnreadable(SourceError):
    code = "source_unreadable"


class SourceIsBinary(SourceError):
    code = "source_binary"


class StoreBusy(LogchatError):
    """Another process holds the ingestion lock, or kept the database locked for too long."""

    exit_code = 1
    http_status = 409
    code = "store_busy"


class StoreError(LogchatError):
    """The database cannot be opened or migrated."""

    exit_code = 1
    http_status = 503
    code = "store_error"


class AuthError(LogchatError):
    exit_code = 1
    http_status = 401
    code = "unauthorized"


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class TokenInvalid(AuthError):
    code = "token_invalid"


class TokenExpired(TokenInvalid):
    code = "token_expired"


class TokenRevoked(TokenInvalid):
    code = "token_revoked"


class AccountDisabled(AuthError):
    http_status = 403
    code = "account_disabled"


class DisabledAccountToken(AccountDisabled):
    """A token of an account disabled since: no valid credential, so 401 like any dead token."""

    http_status = 401


class PermissionDenied(AuthError):
    http_status = 403
    code = "forbidden"


class TooManyAttempts(AuthError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class InvalidPassword(LogchatError):
    """A new password breaks the password policy."""

    exit_code = 2
    http_status = 400
    code = "invalid_password"


class Conflict(LogchatError):
    exit_code = 1
    http_status = 409
    code = "conflict"


class InvalidTimeRange(UsageError):
    """A time phrase or --since/--until that names no usable range: outside the calendar, or ending before it starts."""

    code = "invalid_time_range"


class StoreCorrupt(StoreError):
    """The database file is not a logchat database, or its pages are damaged."""

    code = "store_corrupt"


class StoreFull(StoreError):
    """The disk (or a configured size limit) is full; what was committed before is kept."""

    http_status = 507
    code = "store_full"
