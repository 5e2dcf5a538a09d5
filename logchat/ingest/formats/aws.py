"""AWS access logs: Application Load Balancer and S3 server access logs. Like web server access logs
the level follows the HTTP status (5xx ERROR, 4xx WARNING); the message leads with the status
reason, then the request, the client, the bytes sent and the time taken."""

from __future__ import annotations

import re

from logchat.ingest.events import ParsedHeader
from logchat.ingest.formats._shared import ParserBase
from logchat.ingest.formats.web import STATUS_REASONS, status_level
from logchat.ingest.timestamps import MONTHS

# type time elb client:port target:port request_time target_time response_time elb_status target_status
# received_bytes sent_bytes "request" "user_agent" ...
_ALB = re.compile(
    r"(?:h2|https?|wss?|grpcs?) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (\S+) (\S+) (\S+) "
    r"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (\d{3}|-) (?:\d{3}|-) (?:\d+|-) (\d+|-) "
    r'"([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)"',
)


def _reason(status: str) -> str:
    return STATUS_REASONS.get(status, f"HTTP ({status})")


class AlbParser(ParserBase):
    """An ALB access log entry; the load balancer's name is the process. The time taken is the sum of
    the three processing times (-1 each when the target never answered, then left out)."""

    name = "aws_alb"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _ALB.match(line)
        if match is None:
            return None
        stamp, elb, client, _target, request_time, target_time, response_time, status, sent, request, agent = (
            match.groups())
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            ts = self.ctx.iso(stamp)
            if ts is None:
                return None
            self._last_stamp = stamp
            self._last_ts = ts
        times = (request_time, target_time, response_time)
        taken = "" if "-1" in times else f" {sum(float(value) for value in times):.3f}s"
        message = f'{_reason(status)} "{request}" {client} {sent}{taken} "{agent}"'
        return ParsedHeader(ts, status_level(status) if status != "-" else None, None, elb, None, message)


# bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri" status error_code
# bytes_sent object_size total_time turn_around_time "referer" "user_agent" ...
_S3 = re.compile(
    r"(\S+) (\S+) \[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] (\S+) (\S+) (\S+) "
    r'([A-Z][A-Z0-9_.]+) (\S+) "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}|-) (\S+) (\d+|-) (?:\d+|-) (\d+|-) ',
)


class S3AccessParser(ParserBase):
    """An S3 server access log entry; the message names the operation, the bucket and key, and any S3
    error code (`AccessDenied`)."""

    name = "aws_s3"
    __slots__ = ()

    def parse(self, line: str) -> ParsedHeader | None:
        match = _S3.match(line)
        if match is None:
            return None
        (_owner, bucket, dd, mon, yyyy, hh, mi, ss, sign, oh, om, client, _requester, _request_id,
         operation, key, uri, status, error, sent, total) = match.groups()  # fmt: skip
        stamp = line[match.start(3) : match.end(11)]
        if stamp == self._last_stamp:
            ts = self._last_ts
        else:
            month = MONTHS.get(mon)
            if month is None:
                return None
            offset = int(oh) * 60 + int(om)
            ts = self.ctx.with_offset(
                int(yyyy), month, int(dd), int(hh), int(mi), int(ss), 0, -offset if sign == "-" else offset)
            self._last_stamp = stamp
            self._last_ts = ts
        where = bucket if key == "-" else f"{bucket}/{key}"
        failure = "" if error == "-" else f" {error}"
        taken = "" if total == "-" else f" {total}ms"
        message = f'{_reason(status)} {operation} {where} "{uri}" {client} {sent}{taken}{failure}'
        return ParsedHeader(ts, status_level(status) if status != "-" else None, None, "s3", None, message)
