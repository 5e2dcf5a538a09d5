"""log4j/logback-style Java logs: ISO-dated (Hadoop, Zookeeper, Spring Boot, ...), and the
compact layouts of HDFS (`yyMMdd HHmmss`) and Spark (`yy/MM/dd HH:mm:ss`)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase, parse_pid, two_digit_year
from logchat.ingest.levels import normalize_level
from logchat.ingest.timestamps import TimeContext, fraction_to_micros

# Accepted after the timestamp (each part optional where it varies between layouts):
#   "INFO [main] org.foo.Bar: msg"             %d %p [%t] %c: %m      (Hadoop)
#   "[main] INFO org.foo.Bar - msg"            %d [%t] %-5p %c - %m   (log4j/logback examples)
#   "- INFO  [thread:Class@774] - msg"         %d - %-5p [%t:%C{1}@%L] - %m  (Zookeeper)
#   " INFO 12345 --- [main] o.s.Foo  : msg"    Spring Boot
_LOG4J = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) +(?:- +)?"
    r"(?:\[([^\]]*)\] +)?"
    r"([A-Z]{4,8}|[A-Z][a-z]{3,7})"
    r"(?: +(\d+) +---)? +"
    r"(?:\[([^\[\]]*(?:\[[^\]]*\][^\[\]]*)*)\] +)?"
    r"(?:- +)?"
    r"(?:([A-Za-z_$][\w$.\-]*) *(?::| -) +)?"
    r"(.*)",
    re.DOTALL,
)


def _thread_component(thread: str) -> str | None:
    """Zookeeper's thread field ends in ":Class@line"; the class is the useful component name."""
    at = thread.rfind("@")
    if at > 0 and thread[at + 1 :].isdigit():
        start = max(thread.rfind(":", 0, at), thread.rfind(" ", 0, at)) + 1
        if start < at:
            return thread[start:at]
    return thread.strip() or None


_MILLISECONDS = tuple(timedelta(milliseconds=n) for n in range(1000))


class Log4jParser(ParserBase):
    """ISO-dated Java logging lines with the level before or after the [thread]."""

    name = "log4j"
    __slots__ = ("_second", "_second_ts")

    def __init__(self, ctx: TimeContext) -> None:
        super().__init__(ctx)
        # The usual stamp ("2015-10-18 18:01:47,978") changes every line but not its second: the time of the
        # second's start is kept, and a stamp of the same second adds its milliseconds to it.
        self._second = ""
        self._second_ts = datetime.min

    def parse(self, line: str) -> ParsedHeader | None:
        match = _LOG4J.match(line)
        if match is None:
            return None
        stamp, thread_before, word, pid, thread_after, logger, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self._stamp_time(stamp)
            self._last_stamp = stamp
            self._last_ts = ts
        process = logger
        if process is None:
            thread = thread_after if thread_after is not None else thread_before
            if thread:
                process = _thread_component(thread)
        return ParsedHeader(ts, level, None, process, parse_pid(pid), message)

    def _stamp_time(self, stamp: str) -> datetime | None:
        # Milliseconds and no zone, in ASCII digits (what fromisoformat reads): within one second the zone offset
        # is one, so the time is the second's start plus the milliseconds, exactly as ctx.iso gives it.
        millis = len(stamp) == 23 and stamp[19] in ",." and stamp.isascii()
        if millis and stamp[:19] == self._second:
            return self._second_ts + _MILLISECONDS[int(stamp[20:])]
        ts = self.ctx.iso(stamp)
        if millis and ts is not None:
            self._second = stamp[:19]
            self._second_ts = ts - _MILLISECONDS[int(stamp[20:])]
        return ts


# 081109 203615 148 INFO dfs.DataNode$PacketResponder: msg
_HDFS = re.compile(r"((\d\d)(\d\d)(\d\d) (\d\d)(\d\d)(\d\d)) (\d+) ([A-Z]{4,8}) (?:([^\s:]+): )?(.*)", re.DOTALL)


class HdfsParser(ParserBase):
    """Hadoop 0.x/HDFS layout `yyMMdd HHmmss <thread id> LEVEL component: msg`."""

    name = "hdfs"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _HDFS.match(line)
        if match is None:
            return None
        stamp, yy, mo, dd, hh, mi, ss, pid, word, component, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(two_digit_year(int(yy)), int(mo), int(dd), int(hh), int(mi), int(ss))
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, level, None, component, parse_pid(pid), message)


# 17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: msg
_SPARK = re.compile(
    r"((\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:[,.](\d{1,6}))?) ([A-Z]{4,8}) (?:([^\s:]+): )?(.*)",
    re.DOTALL,
)


class SparkParser(ParserBase):
    """Spark's default log4j layout `yy/MM/dd HH:mm:ss LEVEL component: msg`."""

    name = "spark"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _SPARK.match(line)
        if match is None:
            return None
        stamp, yy, mo, dd, hh, mi, ss, frac, word, component, message = match.groups()
        level = normalize_level(word)
        if level is None:
            return None
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.local(
                two_digit_year(int(yy)), int(mo), int(dd), int(hh), int(mi), int(ss), fraction_to_micros(frac)
            )
            self._last_stamp = stamp
            self._last_ts = ts
        return ParsedHeader(ts, level, None, component, None, message)
