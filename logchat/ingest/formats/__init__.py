"""Log format parsers: one object per format with `name` and `parse(line) -> ParsedHeader | None`.

`parse` returns None when a line has no header of that format; ingestion then treats the line as
a continuation of the event before it. Parsers keep per-file state (year inference, a timestamp
cache) in the TimeContext and in themselves, so make one parser per file with `make_parser`.
"""

from __future__ import annotations

from logchat.errors import UsageError
from logchat.ingest.formats._shared import Parser
from logchat.ingest.formats.android import LogcatBriefParser, LogcatParser
from logchat.ingest.formats.apt import AptHistoryParser
from logchat.ingest.formats.aws import AlbParser, S3AccessParser
from logchat.ingest.formats.cluster import HpcParser, LabelledEpochParser
from logchat.ingest.formats.cups import CupsParser
from logchat.ingest.formats.generic import GenericParser, Iso8601Parser
from logchat.ingest.formats.glog import GlogParser
from logchat.ingest.formats.go_log import GoLogParser
from logchat.ingest.formats.haproxy import HaproxyParser
from logchat.ingest.formats.headers import W3cParser, ZeekParser
from logchat.ingest.formats.journal_export import JournalExportParser
from logchat.ingest.formats.jsonlines import JsonLinesParser
from logchat.ingest.formats.jvm import HdfsParser, Log4jParser, SparkParser
from logchat.ingest.formats.laravel import LaravelParser
from logchat.ingest.formats.logfmt import LogfmtParser
from logchat.ingest.formats.mysql import MysqlErrorParser, MysqlGeneralParser
from logchat.ingest.formats.mysql_slow import MysqlSlowParser
from logchat.ingest.formats.oslo import OsloParser
from logchat.ingest.formats.pipe import PipeDelimitedParser
from logchat.ingest.formats.proxifier import ProxifierParser
from logchat.ingest.formats.python_logging import PythonLoggingParser
from logchat.ingest.formats.redis import RedisParser
from logchat.ingest.formats.ruby_logger import RubyLoggerParser
from logchat.ingest.formats.sssd import SssdParser
from logchat.ingest.formats.strace import StraceParser
from logchat.ingest.formats.syslog import Rfc3164Parser, Rfc5424Parser
from logchat.ingest.formats.user import UserFormatParser, user_format_of, user_formats
from logchat.ingest.formats.uwsgi import UwsgiParser
from logchat.ingest.formats.web import AccessLogParser, ApacheErrorParser, NginxErrorParser
from logchat.ingest.formats.windows import CbsParser
from logchat.ingest.timestamps import TimeContext

__all__ = ["FORMAT_NAMES", "Parser", "UnknownFormat", "all_format_names", "make_parser"]

# Most specific first: when two parsers accept the same number of sample lines, the earlier one
# wins (log4j lines are also ISO-8601 lines; anything is a generic line).
_PARSERS: dict[str, type] = {
    cls.name: cls
    for cls in (
        Rfc5424Parser,
        W3cParser,
        ZeekParser,
        MysqlSlowParser,
        AptHistoryParser,
        JournalExportParser,
        JsonLinesParser,
        CupsParser,
        AccessLogParser,
        ApacheErrorParser,
        NginxErrorParser,
        AlbParser,
        S3AccessParser,
        UwsgiParser,
        RedisParser,
        SssdParser,
        StraceParser,
        MysqlErrorParser,
        MysqlGeneralParser,
        RubyLoggerParser,
        LaravelParser,
        LabelledEpochParser,
        HpcParser,
        LogcatParser,
        LogcatBriefParser,
        HdfsParser,
        SparkParser,
        ProxifierParser,
        PipeDelimitedParser,
        CbsParser,
        OsloParser,
        PythonLoggingParser,
        Log4jParser,
        GlogParser,
        HaproxyParser,
        Rfc3164Parser,
        LogfmtParser,
        GoLogParser,
        Iso8601Parser,
        GenericParser,
    )
}

FORMAT_NAMES: tuple[str, ...] = tuple(_PARSERS)


def all_format_names() -> tuple[str, ...]:
    """The formats of logchat.toml (tried first), then the built-in ones (FORMAT_NAMES)."""
    return (*user_formats(), *FORMAT_NAMES)


class UnknownFormat(UsageError):
    """A format name (from configuration or a flag) that no parser has."""


def make_parser(format_name: str, ctx: TimeContext) -> Parser:
    """A fresh parser for `format_name` (one of FORMAT_NAMES, or `WRAPPER+NAME` for lines wrapped by a
    collector) bound to one file's TimeContext."""
    wrapper, plus, inner = format_name.partition("+")
    if plus:
        from logchat.ingest.wrappers import UNWRAPPERS, WrappedParser

        if wrapper not in UNWRAPPERS:
            raise UnknownFormat(f"unknown log wrapper {wrapper!r} in format {format_name!r}; known wrappers: "
                                f"{', '.join(UNWRAPPERS)}")
        return WrappedParser(wrapper, make_parser(inner, ctx))  # type: ignore[return-value]
    user_format = user_format_of(format_name)
    if user_format is not None:
        return UserFormatParser(user_format, ctx)
    try:
        cls = _PARSERS[format_name]
    except KeyError:
        raise UnknownFormat(
            f"unknown log format {format_name!r}; known formats: {', '.join(all_format_names())}") from None
    return cls(ctx)
