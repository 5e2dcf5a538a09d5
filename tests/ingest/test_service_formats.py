"""The fields the dedicated service formats keep: client, request, status, bytes and time taken for
AWS and uWSGI access lines; pids, processes and levels for Redis, SSSD, strace and MySQL."""

from __future__ import annotations

from datetime import UTC, datetime

from logchat.ingest.formats import make_parser
from logchat.ingest.timestamps import TimeContext

REFERENCE = datetime(2026, 12, 3, 13, 20, tzinfo=UTC)


def parse(format_name: str, line: str):
    header = make_parser(format_name, TimeContext(reference=REFERENCE)).parse(line)
    assert header is not None, line
    return header


def test_alb_entry_keeps_client_request_status_bytes_and_time_taken() -> None:
    header = parse(
        "aws_alb",
        "https 2026-12-03T13:16:02.500000Z app/my-alb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 "
        '0.048 0.037 502 502 0 57 "GET https://www.example.com:443/api HTTP/1.1" "curl/7.46.0" - -',
    )
    assert header.ts == datetime(2026, 12, 3, 13, 16, 2, 500000, tzinfo=UTC)
    assert (header.level, header.process) == ("ERROR", "app/my-alb/50dc6c495c0c9188")
    assert header.message == ('Bad Gateway (502) "GET https://www.example.com:443/api HTTP/1.1" 192.168.131.39:2817 '
                              '57 0.171s "curl/7.46.0"')


def test_alb_entry_without_a_target_answer_has_no_time_taken() -> None:
    header = parse(
        "aws_alb",
        "http 2026-12-03T13:16:01.000000Z app/shop/50dc 10.0.0.7:51122 - -1 -1 -1 404 - 120 326 "
        '"GET http://shop.example.com:80/x HTTP/1.1" "Mozilla/5.0" - -',
    )
    assert header.level == "WARNING"
    assert header.message == ('Not Found (404) "GET http://shop.example.com:80/x HTTP/1.1" 10.0.0.7:51122 326 '
                              '"Mozilla/5.0"')


def test_s3_entry_keeps_operation_key_client_bytes_time_and_error_code() -> None:
    header = parse(
        "aws_s3",
        "79a59df900b949e5 shop-assets [03/Dec/2026:14:16:03 +0100] 192.0.2.9 - 891CE47D2EXAMPLE REST.GET.OBJECT "
        'img/missing.png "GET /img/missing.png HTTP/1.1" 404 NoSuchKey 300 - 7 - "-" "Mozilla/5.0" -',
    )
    assert header.ts == datetime(2026, 12, 3, 13, 16, 3, tzinfo=UTC)
    assert (header.level, header.process) == ("WARNING", "s3")
    assert header.message == ('Not Found (404) REST.GET.OBJECT shop-assets/img/missing.png '
                              '"GET /img/missing.png HTTP/1.1" 192.0.2.9 300 7ms NoSuchKey')


def test_uwsgi_request_keeps_worker_pid_client_request_and_time_taken() -> None:
    header = parse(
        "uwsgi",
        "[pid: 812|app: 0|req: 2/2] 10.0.0.7 () {36 vars in 601 bytes} [Thu Dec  3 13:16:05 2026] POST "
        "/api/orders => generated 21 bytes in 1203 msecs (HTTP/1.1 500) 2 headers in 80 bytes (1 switches on core 0)",
    )
    assert (header.level, header.process, header.pid) == ("ERROR", "uwsgi", 812)
    assert header.message == 'Internal Server Error (500) "POST /api/orders HTTP/1.1" 10.0.0.7 21 1203 ms'


def test_redis_marks_are_levels_and_the_role_names_sentinels_and_children() -> None:
    assert parse("redis", "1:X 03 Dec 2026 13:16:01.105 # +monitor master m 10.0.0.5 6379 quorum 2").process == (
        "redis-sentinel")
    child = parse("redis", "812:C 03 Dec 2026 13:16:09.501 . Fork CoW for RDB: current 1 MB")
    assert (child.level, child.process, child.pid, child.message) == (
        "DEBUG", "redis-child", 812, "Fork CoW for RDB: current 1 MB")
    assert parse("redis", "7:M 03 Dec 2026 13:16:02.001 - Client closed connection").level == "TRACE"
    assert parse("redis", "7:M 03 Dec 2026 13:16:02.001 * Ready to accept connections").level == "NOTICE"


def test_sssd_component_is_the_process_and_the_message_names_the_function() -> None:
    header = parse("sssd", "(2026-12-03 13:16:03): [be[example.com]] [sdap_connect_done] (0x0020): connect failed")
    assert (header.level, header.process, header.message) == (
        "CRITICAL", "be[example.com]", "sdap_connect_done: connect failed")
    old = parse("sssd", "(Thu Dec  3 13:16:01 2026) [sssd[nss]] [nss_cmd_getpwnam] (0x0400): Running command [17]")
    assert (old.ts, old.process, old.level) == (datetime(2026, 12, 3, 13, 16, 1, tzinfo=UTC), "nss", "DEBUG")


def test_strace_keeps_the_pid_and_a_killing_signal_is_an_error() -> None:
    header = parse("strace", "[pid  4121] 13:16:15.130500 write(1, \"hello\\n\", 6) = 6")
    assert (header.ts, header.pid, header.level) == (datetime(2026, 12, 3, 13, 16, 15, 130500, tzinfo=UTC), 4121,
                                                     None)
    assert parse("strace", "4122  13:16:15.200100 +++ killed by SIGSEGV (core dumped) +++").level == "ERROR"
    assert make_parser("strace", TimeContext(reference=REFERENCE)).parse("13:16:15 hello world") is None


def test_mysql_error_log_subsystem_code_and_levels() -> None:
    header = parse("mysql_error", "2026-12-03T13:16:03.500000Z 8 [ERROR] [MY-010584] [Repl] Slave SQL failed")
    assert (header.level, header.process, header.message) == ("ERROR", "Repl", "MY-010584 Slave SQL failed")
    maria = parse("mysql_error", "2026-12-03  7:43:57 0 [Note] InnoDB: Compressed tables use zlib 1.2.13")
    assert (maria.ts, maria.level, maria.process) == (datetime(2026, 12, 3, 7, 43, 57, tzinfo=UTC), "NOTICE", "mysqld")


def test_mysql_general_log_entry_and_the_server_banner_is_metadata() -> None:
    parser = make_parser("mysql_general", TimeContext(reference=REFERENCE))
    header = parser.parse("2026-12-03T13:16:01.124001Z\t   31 Query\tSELECT 1")
    assert header is not None and header.message == "31 Query SELECT 1"
    assert parser.is_metadata("/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:")
    assert parser.is_metadata("Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock")
    assert parser.is_metadata("Time                 Id Command    Argument")
    assert not parser.is_metadata("2026-12-03T13:16:01.124001Z\t   31 Query\tSELECT 1")


def test_an_apt_history_entry_is_one_event_that_opens_with_its_command() -> None:
    from logchat.ingest.events import RawLine
    from logchat.ingest.multiline import join_events

    text = ("Start-Date: 2026-12-03  13:16:02\nCommandline: apt-get install -y mariadb-server\n"
            "Error: Sub-process /usr/bin/dpkg returned an error code (1)\nEnd-Date: 2026-12-03  13:16:40")
    lines = [RawLine(number, 0, line) for number, line in enumerate(text.split("\n"), start=1)]
    [event] = join_events(lines, make_parser("apt_history", TimeContext(reference=REFERENCE)))
    assert (event.line_no, event.line_end, event.ts, event.level, event.process) == (
        1, 4, datetime(2026, 12, 3, 13, 16, 2, tzinfo=UTC), "ERROR", "apt")
    assert event.message == ("Commandline: apt-get install -y mariadb-server\n"
                             "Error: Sub-process /usr/bin/dpkg returned an error code (1)")
    assert event.raw == text


def test_ruby_logger_line_keeps_severity_letter_pid_and_progname() -> None:
    header = parse("ruby_logger", "F, [2026-12-03T13:16:09.930001 #812] FATAL -- sidekiq: Redis::CannotConnectError: "
                                  "Error connecting to Redis on localhost:6379 (Errno::ECONNREFUSED)")
    assert header.ts == datetime(2026, 12, 3, 13, 16, 9, 930001, tzinfo=UTC)
    assert (header.level, header.process, header.pid) == ("CRITICAL", "sidekiq", 812)
    assert header.message == ("Redis::CannotConnectError: Error connecting to Redis on localhost:6379 "
                              "(Errno::ECONNREFUSED)")


def test_ruby_logger_line_without_progname_has_no_process() -> None:
    header = parse("ruby_logger", "I, [2024-06-26T17:00:04.497736 #126554]  INFO -- : Started GET \"/orders\"")
    assert (header.level, header.process, header.pid) == ("INFO", None, 126554)
    assert header.message == 'Started GET "/orders"'


def test_laravel_line_keeps_channel_level_and_offset() -> None:
    header = parse("laravel", '[2026-12-03T13:16:02.000000+01:00] payments.ALERT: Gateway unreachable {"order":8812}')
    assert header.ts == datetime(2026, 12, 3, 12, 16, 2, tzinfo=UTC)
    assert (header.level, header.process) == ("CRITICAL", "payments")
    assert header.message == 'Gateway unreachable {"order":8812}'


def test_laravel_stack_trace_lines_have_no_header_of_their_own() -> None:
    parser = make_parser("laravel", TimeContext(reference=REFERENCE))
    assert parser.parse("[stacktrace]") is None
    assert parser.parse("#0 /var/www/app/Services/Gateway.php(41): GuzzleHttp\\Client->request()") is None


def test_cups_error_log_letter_is_the_level() -> None:
    header = parse("cups", "d [03/Dec/2026:13:16:11.120000 +0000] [Job 12] Sending job to printer.")
    assert header.ts == datetime(2026, 12, 3, 13, 16, 11, 120000, tzinfo=UTC)
    assert (header.level, header.process, header.message) == ("DEBUG", "cupsd", "[Job 12] Sending job to printer.")


def test_cups_access_log_level_follows_the_ipp_status() -> None:
    header = parse("cups", '10.0.0.9 - alice [03/Dec/2026:14:16:01 +0100] "POST /printers/office HTTP/1.1" 200 2048 '
                           "Print-Job client-error-not-authorized")
    assert header.ts == datetime(2026, 12, 3, 13, 16, 1, tzinfo=UTC)
    assert header.level == "WARNING"
    assert header.message == 'OK (200) "POST /printers/office HTTP/1.1" 10.0.0.9 alice 2048 Print-Job ' \
                             "client-error-not-authorized"


def test_cups_page_log_names_printer_job_and_user() -> None:
    header = parse("cups", "office bob 13 [03/Dec/2026:13:17:20 +0000] total 1 - 10.0.0.9 invoice-8812.pdf - -")
    assert (header.level, header.message) == (None, "office job 13 by bob: total 1 - 10.0.0.9 invoice-8812.pdf - -")


def test_go_log_line_with_flags_keeps_file_and_level_word() -> None:
    header = parse("go_log", "2026/12/03 13:16:05.120044 server.go:88: ERROR upstream timed out after 30s")
    assert header.ts == datetime(2026, 12, 3, 13, 16, 5, 120044, tzinfo=UTC)
    assert (header.level, header.process, header.pid) == ("ERROR", None, None)
    assert header.message == "server.go:88: ERROR upstream timed out after 30s"


def test_go_log_plain_line_has_no_level() -> None:
    header = parse("go_log", "2024/05/16 19:31:19 starting server on :8080")
    assert (header.ts, header.level, header.message) == (datetime(2024, 5, 16, 19, 31, 19, tzinfo=UTC), None,
                                                         "starting server on :8080")
