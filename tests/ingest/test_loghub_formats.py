"""Every loghub system is detected, and its lines get the right UTC timestamp and level.

Year rule under test: yearless stamps get the year of the reference time (the file's mtime; here a
fixed REFERENCE of 2025-01-01 UTC), or the year before when that would put them more than a day
after it; a jump back of more than 30 days means the log crossed a year end. Naive stamps are
read in the TimeContext's zone, UTC here, so "16:13:38" means 16:13:38Z. Epoch columns (BGL,
Thunderbird, HPC) are UTC by definition and are used in preference to their local-time columns.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from logchat.ingest.detect import detect_format, timestamp_parse_rate
from logchat.ingest.events import RawLine
from logchat.ingest.formats import make_parser
from logchat.ingest.levels import normalize_level
from logchat.ingest.multiline import join_events
from logchat.ingest.timestamps import TimeContext

REFERENCE = datetime(2025, 1, 1, tzinfo=UTC)
# Proxifier's sample runs from Oct 30 to Jul 27 of the next year; a reference just after its last
# line (as a real mtime would be) lets the year roll be checked.
PROXIFIER_REFERENCE = datetime(2017, 8, 1, tzinfo=UTC)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def _epoch(row: dict[str, str], column: str = "Timestamp") -> datetime:
    return datetime.fromtimestamp(int(row[column]), UTC)


def _bgl_time(row: dict[str, str]) -> datetime:
    # Epoch seconds plus the sub-second part of the local RAS time.
    return _epoch(row).replace(microsecond=int(row["Time"].rsplit(".", 1)[1]))


def _strp(text: str, pattern: str) -> datetime:
    return datetime.strptime(text, pattern).replace(tzinfo=UTC)


def _healthapp(row: dict[str, str]) -> datetime:
    day, clock = row["Time"].split("-")
    hh, mm, ss, ms = (int(part) for part in clock.split(":"))
    return utc(int(day[:4]), int(day[4:6]), int(day[6:]), hh, mm, ss, ms * 1000)


def _proxifier(row: dict[str, str]) -> datetime:
    month = int(row["Time"][:2])
    year = 2016 if month >= 10 else 2017
    return _strp(f"{year}.{row['Time']}", "%Y.%m.%d %H:%M:%S")


@dataclass
class System:
    name: str
    format: str
    lines: list[tuple[str, datetime, str | None]]  # (literal line, expected ts, expected level)
    expected_time: Callable[[dict[str, str]], datetime]  # from a row of the structured CSV
    reference: datetime = REFERENCE
    header: dict[str, object] = field(default_factory=dict)  # other fields of the first line


SYSTEMS = [
    System(
        "Android",
        "android",
        [
            (
                "03-17 16:13:38.859  2227  2227 D TextView: visible is system.time.showampm",
                utc(2024, 3, 17, 16, 13, 38, 859000),
                "DEBUG",
            ),
            (
                "03-17 16:13:55.899  2227  2514 V AudioManager: getLastAudibleStreamVolume  treamType: 5",
                utc(2024, 3, 17, 16, 13, 55, 899000),
                "TRACE",
            ),
            (
                "03-17 16:13:38.935  1702  3697 W ActivityManager: getRunningAppProcesses: caller 10113 "
                "does not hold REAL_GET_TASKS; limiting output",
                utc(2024, 3, 17, 16, 13, 38, 935000),
                "WARNING",
            ),
        ],
        lambda row: _strp(f"2024-{row['Date']} {row['Time']}", "%Y-%m-%d %H:%M:%S.%f"),
        header={"process": "TextView", "pid": 2227, "message": "visible is system.time.showampm"},
    ),
    System(
        "Apache",
        "apache_error",
        [
            (
                "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
                utc(2005, 12, 4, 4, 47, 44),
                "NOTICE",
            ),
            (
                "[Sun Dec 04 06:41:08 2005] [error] mod_jk child workerEnv in error state 6",
                utc(2005, 12, 4, 6, 41, 8),
                "ERROR",
            ),
        ],
        lambda row: _strp(row["Time"], "%a %b %d %H:%M:%S %Y"),
        header={"message": "workerEnv.init() ok /etc/httpd/conf/workers2.properties"},
    ),
    System(
        "BGL",
        "labelled_epoch",
        [
            (
                "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 "
                "RAS KERNEL INFO instruction cache parity error corrected",
                utc(2005, 6, 3, 22, 42, 50, 675872),
                "INFO",
            ),
            (
                "APPREAD 1117869872 2005.06.04 R04-M1-N4-I:J18-U11 2005-06-04-00.24.32.432192 "
                "R04-M1-N4-I:J18-U11 RAS APP FATAL ciod: failed to read message prefix on control stream "
                "(CioStream socket to 172.16.96.116:33569",
                utc(2005, 6, 4, 7, 24, 32, 432192),
                "CRITICAL",
            ),
            (
                "- 1120241131 2005.07.01 R37-M1-N4 2005-07-01-11.05.31.120732 R37-M1-N4 NULL DISCOVERY "
                "SEVERE Can not get assembly information for node card",
                utc(2005, 7, 1, 18, 5, 31, 120732),
                "ERROR",
            ),
        ],
        _bgl_time,
        header={
            "host": "R02-M1-N0-C:J12-U11",
            "process": "KERNEL",
            "message": "instruction cache parity error corrected",
        },
    ),
    System(
        "HDFS",
        "hdfs",
        [
            (
                "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block "
                "blk_38865049064139660 terminating",
                utc(2008, 11, 9, 20, 36, 15),
                "INFO",
            ),
            (
                "081109 214043 2561 WARN dfs.DataNode$DataXceiver: 10.251.30.85:50010:Got exception while "
                "serving blk_-2918118818249673980 to /10.251.90.64:",
                utc(2008, 11, 9, 21, 40, 43),
                "WARNING",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']:0>6}", "%y%m%d %H%M%S"),
        header={"process": "dfs.DataNode$PacketResponder", "pid": 148},
    ),
    System(
        "HPC",
        "hpc",
        [
            (
                "350766 node-109 unix.hw state_change.unavailable 1084680778 1 Component State Change: "
                "Component \\042alt0\\042 is in the unavailable state (HWID=3180)",
                utc(2004, 5, 16, 4, 12, 58),
                None,
            ),
            ("205176 node-15 node status 1131532770 1 not responding", utc(2005, 11, 9, 10, 39, 30), None),
            ("39391 gige7 gige temperature 1104545871 1 warning", utc(2005, 1, 1, 2, 17, 51), None),
        ],
        lambda row: _epoch(row, "Time"),
        header={"host": "node-109", "process": "unix.hw"},
    ),
    System(
        "Hadoop",
        "log4j",
        [
            (
                "2015-10-18 18:01:48,963 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
                "Executing with tokens:",
                utc(2015, 10, 18, 18, 1, 48, 963000),
                "INFO",
            ),
            (
                "2015-10-18 18:05:27,570 WARN [LeaseRenewer:msrabi@msra-sa-41:9000] org.apache.hadoop.ipc."
                "Client: Address change detected. Old: msra-sa-41/10.190.173.170:9000 New: msra-sa-41:9000",
                utc(2015, 10, 18, 18, 5, 27, 570000),
                "WARNING",
            ),
            (
                "2015-10-18 18:06:26,029 FATAL [IPC Server handler 13 on 62270] org.apache.hadoop.mapred."
                "TaskAttemptListenerImpl: Task: attempt_1445144423722_0020_m_000002_0 - exited : "
                "java.net.NoRouteToHostException:",
                utc(2015, 10, 18, 18, 6, 26, 29000),
                "CRITICAL",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']}", "%Y-%m-%d %H:%M:%S,%f"),
        header={"process": "org.apache.hadoop.mapreduce.v2.app.MRAppMaster", "message": "Executing with tokens:"},
    ),
    System(
        "HealthApp",
        "pipe_delimited",
        [
            (
                "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
                utc(2017, 12, 23, 22, 15, 29, 606000),
                None,
            ),
            (
                "20171223-22:19:8:163|Step_ExtSDM|30002312|calculateCaloriesWithCache totalCalories=129131",
                utc(2017, 12, 23, 22, 19, 8, 163000),
                None,
            ),
            (
                "20171224-0:0:0:624|Step_SPUtils|30002312| getTodayTotalDetailSteps = "
                "1514044740000##0##549659##8661##16256##33444553",
                utc(2017, 12, 24, 0, 0, 0, 624000),
                None,
            ),
        ],
        _healthapp,
        header={"process": "Step_LSC", "pid": 30002312, "message": "onStandStepChanged 3579"},
    ),
    System(
        "Linux",
        "rfc3164",
        [
            (
                "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 "
                "tty=NODEVssh ruser= rhost=218.188.2.4 ",
                utc(2024, 6, 14, 15, 16, 1),
                None,
            ),
            (
                "Jul  2 04:04:03 combo logrotate: ALERT exited abnormally with [1]",
                utc(2024, 7, 2, 4, 4, 3),
                None,
            ),
            (
                "Jul 27 14:41:57 combo kernel: You can enable it with acpi=force",
                utc(2024, 7, 27, 14, 41, 57),
                None,
            ),
        ],
        lambda row: _strp(f"2024 {row['Month']} {row['Date']} {row['Time']}", "%Y %b %d %H:%M:%S"),
        header={"host": "combo", "process": "sshd(pam_unix)", "pid": 19939},
    ),
    System(
        "Mac",
        "rfc3164",
        [
            (
                "Jul  1 09:01:05 calvisitor-10-105-160-95 com.apple.CDScheduler[43]: Thermal pressure state: 1 "
                "Memory pressure state: 0",
                utc(2024, 7, 1, 9, 1, 5),
                None,
            ),
            (
                "Jul  6 23:00:45 calvisitor-10-105-162-178 Safari[9852]: KeychainGetICDPStatus: keychain: -25300",
                utc(2024, 7, 6, 23, 0, 45),
                None,
            ),
        ],
        lambda row: _strp(f"2024 {row['Month']} {row['Date']} {row['Time']}", "%Y %b %d %H:%M:%S"),
        header={"host": "calvisitor-10-105-160-95", "process": "com.apple.CDScheduler", "pid": 43},
    ),
    System(
        "OpenSSH",
        "rfc3164",
        [
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
                utc(2024, 12, 10, 6, 55, 46),
                None,
            ),
            (
                "Dec 10 07:51:15 LabSZ sshd[24324]: error: Received disconnect from 195.154.37.122: 3: "
                "com.jcraft.jsch.JSchException: Auth fail [preauth]",
                utc(2024, 12, 10, 7, 51, 15),
                "ERROR",
            ),
        ],
        lambda row: _strp(f"2024 {row['Date']} {row['Day']} {row['Time']}", "%Y %b %d %H:%M:%S"),
        header={"host": "LabSZ", "process": "sshd", "pid": 24200},
    ),
    System(
        "OpenStack",
        "oslo",
        [
            (
                "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:20.345 2931 WARNING "
                "nova.virt.libvirt.imagecache [req-addc1839-2ed5-4778-b57e-5854eb7b8b09 - - - - -] Unknown "
                "base file: /var/lib/nova/instances/_base/a489c868f0c37da93b76227c91bb03908ac0e742",
                utc(2017, 5, 16, 0, 0, 20, 345000),
                "WARNING",
            ),
            (
                "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:04.500 2931 INFO "
                "nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: "
                "b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)",
                utc(2017, 5, 16, 0, 0, 4, 500000),
                "INFO",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']}", "%Y-%m-%d %H:%M:%S.%f"),
        header={
            "process": "nova.virt.libvirt.imagecache",
            "pid": 2931,
            "message": "Unknown base file: /var/lib/nova/instances/_base/a489c868f0c37da93b76227c91bb03908ac0e742",
        },
    ),
    System(
        "Proxifier",
        "proxifier",
        [
            (
                "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy "
                "proxy.cse.cuhk.edu.hk:5070 HTTPS",
                utc(2016, 10, 30, 16, 49, 6),
                None,
            ),
            (
                "[07.26 15:08:38] chrome.exe *64 - www.google.com.hk:443 close, 734 bytes sent, 160 bytes "
                "received, lifetime <1 sec",
                utc(2017, 7, 26, 15, 8, 38),
                None,
            ),
        ],
        _proxifier,
        reference=PROXIFIER_REFERENCE,
        header={"process": "chrome.exe"},
    ),
    System(
        "Spark",
        "spark",
        [
            (
                "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for "
                "[TERM, HUP, INT]",
                utc(2017, 6, 9, 20, 10, 40),
                "INFO",
            ),
            (
                "17/06/09 20:10:53 INFO storage.BlockManager: Found block rdd_2_3 locally",
                utc(2017, 6, 9, 20, 10, 53),
                "INFO",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']}", "%y/%m/%d %H:%M:%S"),
        header={"process": "executor.CoarseGrainedExecutorBackend"},
    ),
    System(
        "Thunderbird",
        "labelled_epoch",
        [
            (
                "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session "
                "closed for user root",
                utc(2005, 11, 9, 20, 1, 1),
                None,
            ),
            (
                "- 1131567043 2005.11.09 tbird-admin1 Nov 9 12:10:43 local@tbird-admin1 ACPI: LAPIC "
                "(acpi_id[0x01] lapic_id[0x00] enabled)",
                utc(2005, 11, 9, 20, 10, 43),
                None,
            ),
        ],
        _epoch,
        header={"host": "dn228", "process": "crond(pam_unix)", "pid": 2915},
    ),
    System(
        "Windows",
        "windows_cbs",
        [
            (
                "2016-09-28 04:30:31, Info                  CBS    Ending TrustedInstaller initialization.",
                utc(2016, 9, 28, 4, 30, 31),
                "INFO",
            ),
            (
                "2016-09-29 02:04:10, Info                  CBS    Session: 30546354_3058807134 initialized "
                "by client WindowsUpdateAgent.",
                utc(2016, 9, 29, 2, 4, 10),
                "INFO",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']}", "%Y-%m-%d %H:%M:%S"),
        header={"process": "CBS", "message": "Ending TrustedInstaller initialization."},
    ),
    System(
        "Zookeeper",
        "log4j",
        [
            (
                "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection"
                "@774] - Notification time out: 3200",
                utc(2015, 7, 29, 17, 41, 44, 747000),
                "INFO",
            ),
            (
                "2015-07-29 19:33:25,872 - WARN  [RecvWorker:188978561024:QuorumCnxManager$RecvWorker@765] - "
                "Interrupting SendWorker",
                utc(2015, 7, 29, 19, 33, 25, 872000),
                "WARNING",
            ),
            (
                "2015-07-29 23:44:28,903 - ERROR [CommitProcessor:1:NIOServerCnxn@180] - Unexpected Exception: ",
                utc(2015, 7, 29, 23, 44, 28, 903000),
                "ERROR",
            ),
        ],
        lambda row: _strp(f"{row['Date']} {row['Time']}", "%Y-%m-%d %H:%M:%S,%f"),
        header={"process": "FastLeaderElection", "message": "Notification time out: 3200"},
    ),
]
SYSTEM_IDS = [system.name for system in SYSTEMS]


def _log_lines(loghub: Path, name: str) -> list[str]:
    # Text mode turns the files' CRLF endings into plain line ends, as the sources do.
    with (loghub / name / f"{name}_2k.log").open(encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in handle]


def _structured_rows(loghub: Path, name: str) -> list[dict[str, str]]:
    with (loghub / name / f"{name}_2k.log_structured.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_all_sixteen_systems_are_covered() -> None:
    assert len(SYSTEMS) == 16


@pytest.mark.parametrize("system", SYSTEMS, ids=SYSTEM_IDS)
def test_detects_the_format_from_the_first_lines(loghub: Path, system: System) -> None:
    assert detect_format(_log_lines(loghub, system.name)[:50]) == system.format


@pytest.mark.parametrize("system", SYSTEMS, ids=SYSTEM_IDS)
def test_literal_lines_give_exact_utc_time_and_level(system: System) -> None:
    # These lines are copied from the datasets, so this test runs without them too.
    for line, expected_ts, expected_level in system.lines:
        parser = make_parser(system.format, TimeContext(reference=system.reference))
        header = parser.parse(line)
        assert header is not None, line
        assert header.ts == expected_ts, line
        assert header.ts.tzinfo is not None and header.ts.utcoffset().total_seconds() == 0
        assert header.level == expected_level, line
    first = make_parser(system.format, TimeContext(reference=system.reference)).parse(system.lines[0][0])
    assert first is not None
    for attribute, value in system.header.items():
        assert getattr(first, attribute) == value, attribute


@pytest.mark.parametrize("system", SYSTEMS, ids=SYSTEM_IDS)
def test_whole_file_timestamps_and_levels_match_ground_truth(loghub: Path, system: System) -> None:
    lines = _log_lines(loghub, system.name)
    rows = _structured_rows(loghub, system.name)
    assert len(lines) == len(rows) == 2000

    parser = make_parser(system.format, TimeContext(reference=system.reference))
    headers = [parser.parse(line) for line in lines]
    stamped = sum(1 for header in headers if header is not None and header.ts is not None)
    assert stamped / len(lines) == 1.0

    wrong_times = [
        (row["LineId"], header.ts, system.expected_time(row))
        for header, row in zip(headers, rows, strict=True)
        if header is None or header.ts != system.expected_time(row)
    ]
    assert wrong_times == []

    truth_levels = [normalize_level(row.get("Level", "")) for row in rows]
    if all(level is not None for level in truth_levels):  # a Level column of real level words
        got = [header.level if header else None for header in headers]
        assert got == truth_levels


@pytest.mark.parametrize("system", SYSTEMS, ids=SYSTEM_IDS)
def test_every_line_is_one_event(loghub: Path, system: System) -> None:
    lines = _log_lines(loghub, system.name)
    parser = make_parser(system.format, TimeContext(reference=system.reference))
    raw = (RawLine(number, 0, text) for number, text in enumerate(lines, start=1))
    events = list(join_events(raw, parser))
    assert len(events) == len(lines)
    assert [event.line_no for event in events] == list(range(1, len(lines) + 1))


def test_proxifier_year_rolls_forward_at_the_year_end(loghub: Path) -> None:
    lines = _log_lines(loghub, "Proxifier")
    parser = make_parser("proxifier", TimeContext(reference=PROXIFIER_REFERENCE))
    stamps = [header.ts for line in lines if (header := parser.parse(line)) and header.ts]
    assert stamps[0].year == 2016 and stamps[-1].year == 2017
    assert all(later >= earlier for earlier, later in pairwise(stamps))


@pytest.mark.parametrize("system", SYSTEMS, ids=SYSTEM_IDS)
def test_timestamp_parse_rate_reports_format_and_full_coverage(loghub: Path, system: System) -> None:
    name, rate = timestamp_parse_rate(loghub / system.name / f"{system.name}_2k.log", system.reference)
    assert (name, rate) == (system.format, 1.0)
