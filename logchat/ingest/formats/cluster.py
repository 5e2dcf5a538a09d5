"""Supercomputer logs as published by the USENIX CFDR / loghub collections.

BGL and Thunderbird share one header, `<alert label> <epoch seconds> <yyyy.mm.dd> <node> ...`,
followed by either a Blue Gene RAS record or a syslog record. The epoch column is UTC, so it is
the timestamp (the local times later in the line are redundant). HPC (LANL) logs carry epoch
seconds in their fifth column.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import SYSLOG_TAG, ParserBase, parse_pid
from logchat.ingest.levels import normalize_level
from logchat.ingest.timestamps import UTC

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_LABELLED = re.compile(r"(\S+) (\d{9,10}) \d{4}\.\d\d\.\d\d (\S+) (.*)", re.DOTALL)
# Blue Gene/L RAS: "2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO msg"
_RAS = re.compile(r"\d{4}-\d\d-\d\d-\d\d\.\d\d\.(\d\d)\.(\d{6}) \S+ \S+ (\S+) ([A-Z]+) ?(.*)", re.DOTALL)
# Thunderbird syslog: "Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: msg"
_SYSLOG_TAIL = re.compile(r"[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d \S+ " + SYSLOG_TAG + r"(.*)", re.DOTALL)


class LabelledEpochParser(ParserBase):
    """BGL / Thunderbird style lines; the node is the host."""

    name = "labelled_epoch"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _LABELLED.match(line)
        if match is None:
            return None
        _label, epoch, node, rest = match.groups()
        ras = _RAS.match(rest)
        if ras is not None:
            seconds, micros, component, word, message = ras.groups()
            # The RAS time is local, but its sub-second part is what the epoch column lacks.
            key = epoch + micros
            if key == self._last_stamp:
                ts = self._last_ts
            else:
                whole = int(epoch)
                fraction = int(micros) if int(seconds) == whole % 60 else 0
                ts = _EPOCH + timedelta(seconds=whole, microseconds=fraction)
                self._last_stamp = key
                self._last_ts = ts
            return ParsedHeader(ts, normalize_level(word), node, component, None, message)
        if epoch == self._last_stamp:
            ts = self._last_ts
        else:
            ts = _EPOCH + timedelta(seconds=int(epoch))
            self._last_stamp = epoch
            self._last_ts = ts
        tail = _SYSLOG_TAIL.match(rest)
        if tail is not None:
            tag, pid, message = tail.groups()
            return ParsedHeader(ts, None, node, tag, parse_pid(pid), message)
        return ParsedHeader(ts, None, node, None, None, rest)


# "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: ..."
_HPC = re.compile(r"\d+ (\S+) (\S+) (\S+) (\d{9,10}) (-?\d+)(?: (.*))?", re.DOTALL)


class HpcParser(ParserBase):
    """LANL HPC logs `<log id> <node> <component> <state> <epoch> <flag> <message>`."""

    name = "hpc"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _HPC.match(line)
        if match is None:
            return None
        node, component, _state, epoch, _flag, message = match.groups()
        if epoch == self._last_stamp:
            ts = self._last_ts
        else:
            ts = _EPOCH + timedelta(seconds=int(epoch))
            self._last_stamp = epoch
            self._last_ts = ts
        return ParsedHeader(ts, None, node, component, None, message or "")
