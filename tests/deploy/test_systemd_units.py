"""contrib/systemd: `systemd-analyze verify` accepts the units, with every warning counted as a failure.

verify checks that ExecStart's program exists and is executable, so the units are copied into a
temporary directory with /opt/logchat/bin/logchat replaced by a stub script there."""

from __future__ import annotations

import configparser
import stat

from tests.deploy.deploy_tools import CONTRIB, run, tool

UNITS = CONTRIB / "systemd"
NAMES = ["logchat.service", "logchat-reload.service", "logchat-reload.timer"]


def _verify(directory, names) -> tuple[int, str]:
    result = run(tool("systemd-analyze"), "verify", "--man=no", *[f"./{name}" for name in names], cwd=directory)
    return result.returncode, (result.stdout + result.stderr).strip()


def _with_stub(tmp_path):
    stub = tmp_path / "logchat"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    for name in NAMES:
        text = (UNITS / name).read_text().replace("/opt/logchat/bin/logchat", str(stub))
        (tmp_path / name).write_text(text)
    return tmp_path


def test_systemd_analyze_verify_accepts_the_units(tmp_path) -> None:
    code, output = _verify(_with_stub(tmp_path), NAMES)
    assert code == 0 and output == "", output


def test_verify_reports_a_misspelt_directive(tmp_path) -> None:
    directory = _with_stub(tmp_path)
    unit = directory / "logchat.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    _, output = _verify(directory, ["logchat.service"])
    assert "Unknown key 'ProtectSystm'" in output


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser["Service"]


def test_the_daemon_is_confined_and_stops_gracefully() -> None:
    service = _service("logchat.service")
    assert service["ExecStart"].endswith(" serve")
    assert service["DynamicUser"] == "yes" and service["StateDirectory"] == "logchat"
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert service["ReadWritePaths"] == "/var/lib/logchat"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    # Longer than serve.shutdown_grace_seconds' default, so answers in flight finish before SIGKILL.
    from logchat.config import ServeSettings

    assert int(service["TimeoutStopSec"]) > ServeSettings().shutdown_grace_seconds


def test_the_timer_starts_the_reload_service() -> None:
    assert _service("logchat-reload.service")["ExecStart"].endswith(" reload")
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNITS / "logchat-reload.timer")
    assert parser["Timer"]["Unit"] == "logchat-reload.service"
