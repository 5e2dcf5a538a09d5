"""Why a file parses the way it does: the format detection picks, and how much of it gets a time and a
level, without storing anything (`logchat detect`), and an example line for every format
(`logchat formats`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logchat.ingest import sources as src
from logchat.ingest.formats import FORMAT_NAMES, make_parser
from logchat.ingest.timestamps import TimeContext

# One real-shaped line per format (after the header lines that name the columns, for the formats that
# have them), parsed by that format's parser (a test holds them to it).
EXAMPLES: dict[str, str] = {
    "rfc5424": '<165>1 2026-12-03T13:16:06.003Z web01 payments 5269 ID47 [origin ip="10.0.0.7"] charge declined',
    "w3c": "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)"
    " sc-status sc-substatus sc-win32-status time-taken\n"
    "2026-12-03 13:16:01 10.0.0.5 GET /index.html - 443 - 10.0.0.7 Mozilla/5.0 200 0 0 15",
    "zeek": "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
    "1764767761.120000\tCHhAvVGS1DHFjwGM9\t10.0.0.7\t51122\t10.0.0.5\t443\ttcp",
    "mysql_slow": "# Time: 2026-12-03T13:16:01.123456Z",
    "apt_history": "Start-Date: 2026-12-03  13:16:02\nCommandline: apt-get install -y redis-server\n"
    "Install: redis-server:amd64 (5:7.0.15-1~deb12u1)\nEnd-Date: 2026-12-03  13:16:09",
    "journal_export": "__CURSOR=s=6c1f;i=1a2b\n__REALTIME_TIMESTAMP=1796303761123456\nPRIORITY=3\n"
    "SYSLOG_IDENTIFIER=sshd\nMESSAGE=error: maximum authentication attempts exceeded for root",
    "json": '{"time":"2026-12-03T13:16:01Z","level":"error","msg":"payment declined","order":8812}',
    "access": '127.0.0.1 - frank [10/Feb/2012:16:42:07 -0500] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "curl/8.5.0"',
    "apache_error": "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    "nginx_error": "2026/12/03 13:16:01 [error] 1201#1201: *7 connect() failed (111: Connection refused)",
    "aws_alb": 'https 2026-12-03T13:16:02.500000Z app/my-alb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 '
    '0.048 0.037 502 502 0 57 "GET https://www.example.com:443/api HTTP/1.1" "curl/7.46.0" - -',
    "aws_s3": "79a59df900b949e5 awsexamplebucket1 [03/Dec/2026:13:16:04 +0000] 192.0.2.3 79a59df900b949e5 "
    '891CE47D2EXAMPLE REST.GET.LOGGING_STATUS - "GET /awsexamplebucket1?logging HTTP/1.1" 403 AccessDenied 243 - '
    '18 - "-" "S3Console/0.4" -',
    "uwsgi": "[pid: 812|app: 0|req: 2/2] 10.0.0.7 () {36 vars in 601 bytes} [Thu Dec  3 13:16:05 2026] POST "
    "/api/orders => generated 21 bytes in 1203 msecs (HTTP/1.1 500) 2 headers in 80 bytes (1 switches on core 0)",
    "redis": "2222:M 03 Dec 2026 13:16:15.781 # WARNING: The TCP backlog setting of 511 cannot be enforced",
    "sssd": "(2026-12-03 13:16:03): [be[example.com]] [sdap_async_sys_connect_done] (0x0020): connect failed "
    "[111][Connection refused].",
    "strace": '13:16:15.131877 connect(5, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}'
    ", 16) = -1 ECONNREFUSED (Connection refused)",
    "mysql_error": "2026-12-03T13:16:03.500000Z 8 [ERROR] [MY-010584] [Repl] Slave SQL for channel : Error "
    "executing row event, Error_code: MY-001146",
    "mysql_general": "2026-12-03T13:16:01.124001Z\t   31 Query\tSELECT id, total FROM orders WHERE id = 8812",
    "ruby_logger": "E, [2026-12-03T13:16:05.000123 #126554] ERROR -- : ActiveRecord::RecordNotFound (Couldn't find "
    "Order with 'id'=9)",
    "laravel": '[2026-12-03 13:16:05] production.ERROR: SQLSTATE[HY000] [2002] Connection refused '
    '{"exception":"[object] (PDOException(code: 2002): Connection refused at /var/www/app.php:65)',
    "cups": "E [03/Dec/2026:13:16:10 +0000] [Job 12] Unable to connect to printer; will retry in 30 seconds...",
    "go_log": "2026/12/03 13:16:05.120044 server.go:88: ERROR upstream timed out after 30s",
    "labelled_epoch": "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11"
    " RAS KERNEL INFO instruction cache parity error corrected",
    "hpc": "460610 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component "
    "\\042alt0\\042 is in the unavailable state (HWID=1922)",
    "android": "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken = "
    "AppWindowToken{9f4ef63 token=Token{a64f992 ActivityRecord{de9231d u0 com.tencent.qt.qtl/.activity.info."
    "NewsDetailXmlActivity t761}}}, allDrawn= false, startingDisplayed =  false, startingMoved =  false, "
    "isRelaunching =  false",
    "android_brief": "D/ActivityManager(  812): Start proc 4021:com.example.app/u0a123 for activity",
    "hdfs": "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
    "blk_38865049064139660 terminating",
    "spark": "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for "
    "[TERM, HUP, INT]",
    "proxifier": "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy "
    "proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "pipe_delimited": "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    "windows_cbs": "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 "
    "with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.23505_"
    "none_681aa442f6fed7f0\\cbscore.dll",
    "oslo": "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server "
    "[req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e"
    " - - -] 10.11.10.1 \"GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1\" status: 200 len: "
    "1893 time: 0.2477829",
    "python": "2026-12-03 13:16:01,120 - app.orders - ERROR - payment failed for order 8812",
    "log4j": "2026-12-03 13:16:02,400 ERROR [exec-1] com.example.Orders: payment failed",
    "glog": "E0517 15:04:22.619632   12345 server.go:42] failed to sync pod kube-system/coredns: timeout",
    "logfmt": 'time=2026-12-03T13:16:01Z level=error msg="payment declined" order=8812 duration=212ms',
    "haproxy": "Dec  3 13:16:01 lb01 haproxy[812]: 10.0.0.7:51122 [03/Dec/2026:13:16:01.120] www~ web/srv1 "
    '0/0/1/12/13 200 1024 - - ---- 12/12/0/0/0 0/0 "GET /index.html HTTP/1.1"',
    "rfc3164": "Dec  3 13:16:05 web01 sshd[4120]: Accepted publickey for deploy from 10.0.0.7 port 51122 ssh2",
    "iso8601": "2026-12-03T13:16:27.570161+00:00 [notice] <0.223.0> Logging: configured log handlers are now ACTIVE",
    "generic": "[2961] 2026/12/03 07:43:39.003770 [INF] Starting nats-server",
}
DEFAULT_LINES = 1000
SHOWN_UNPARSED = 5


def format_catalogue() -> list[dict[str, Any]]:
    """Every format name with an example line, in the order detection tries them (user formats first)."""
    from logchat.ingest.formats.user import user_formats

    defined = [{"name": name, "example": item.example, "user_defined": True} for name, item in user_formats().items()]
    return defined + [{"name": name, "example": EXAMPLES.get(name, ""), "user_defined": False} for name in FORMAT_NAMES]


@dataclass
class Detection:
    path: str
    format: str | None = None
    lines: int = 0  # non-blank lines looked at
    events: int = 0
    with_timestamp: int = 0
    with_level: int = 0
    without_timestamp: list[dict[str, Any]] = field(default_factory=list)  # the first few: line, text
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        share = self.with_timestamp / self.events if self.events else 0.0
        return {
            "path": self.path, "format": self.format, "lines": self.lines, "events": self.events,
            "with_timestamp": self.with_timestamp, "with_level": self.with_level,
            "timestamp_share": round(share, 4), "without_timestamp": self.without_timestamp, "error": self.error,
        }


def detect_file(path: Path, *, max_lines: int = DEFAULT_LINES, fmt: str = "auto") -> Detection:
    """Detect the format of `path` as `index` would and parse its first `max_lines` lines; nothing is stored.

    Yearless and time-only stamps are dated from the file's modification time, as in `index`."""
    from itertools import islice

    from logchat.errors import SourceError
    from logchat.ingest.detect import detect_format
    from logchat.ingest.multiline import join_events

    result = Detection(path=str(path))
    try:
        identity = src.identify(path)
        kind = src.compression_of(path)
        with src.open_binary(path) as raw:
            handle = src.open_decompressed(kind, raw) if kind else raw
            sample = src.read_sample(handle)
            src.check_not_binary(str(path), sample)
            reference = datetime.fromtimestamp(identity.mtime, UTC)
            if fmt == "auto":
                name = detect_format(src.sample_lines(sample), ctx=TimeContext(reference=reference))
            else:
                name = fmt
            result.format = name
            reader = src.LineReader(handle, start_line=0, start_offset=0, max_line_bytes=65536)
            parser = make_parser(name, TimeContext(reference=reference))
            lines = (line for line in islice(reader, max_lines))
            for event in join_events(lines, parser):
                result.events += 1
                result.lines += 1 + sum(1 for part in event.raw.split("\n")[1:] if part.strip())
                result.with_level += event.level is not None
                if event.ts is not None:
                    result.with_timestamp += 1
                elif len(result.without_timestamp) < SHOWN_UNPARSED:
                    result.without_timestamp.append({"line": event.line_no, "text": event.raw.split("\n")[0][:300]})
    except SourceError as exc:
        result.error = str(exc)
    except (OSError, EOFError, ValueError) as exc:
        result.error = f"{path}: cannot read: {exc}"
    return result
