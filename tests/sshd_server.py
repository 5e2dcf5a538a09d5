"""A real OpenSSH server for the remote-source tests: its own host key, client key, authorized_keys
and known_hosts in a temporary directory, listening on 127.0.0.1 on a free port. It runs on this
machine, so the "remote" paths the tests read are local paths under a temporary directory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid``, from /proc (children first found, then theirs)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(), [])
        found.extend(children)
        queue.extend(children)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run([SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", "logchat-test", "-f", str(path)], check=True)
    return path


@dataclass
class SshServer:
    """One sshd. ``known_hosts`` holds its host key; ``client_key`` is authorized to log in."""

    root: Path
    port: int
    host_key: Path
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, root: Path) -> SshServer:
        root.mkdir(parents=True, exist_ok=True)
        host_key = keygen(root / "host_ed25519")
        client_key = keygen(root / "client_ed25519")
        (root / "authorized_keys").write_text((root / "client_ed25519.pub").read_text())
        server = cls(root=root, port=free_port(), host_key=host_key, client_key=client_key,
                     known_hosts=root / "known_hosts")
        server.write_known_hosts(server.known_hosts)
        (root / "sshd_config").write_text(
            f"HostKey {host_key}\n"
            f"AuthorizedKeysFile {root / 'authorized_keys'}\n"
            f"PidFile {root / 'sshd.pid'}\n"
            "ListenAddress 127.0.0.1\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nStrictModes no\nPermitRootLogin yes\nSubsystem sftp internal-sftp\n"
            "MaxStartups 100\nLogLevel ERROR\n"
        )
        return server

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: Path | str) -> str:
        return f"ssh://127.0.0.1:{self.port}{path}"

    def location(self, path: Path | str) -> str:
        return self.url(path)

    def write_known_hosts(self, target: Path) -> None:
        key_type, key = (self.root / "host_ed25519.pub").read_text().split()[:2]
        target.write_text(f"[127.0.0.1]:{self.port} {key_type} {key}\n")

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # OpenSSH's privilege separation directory
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.root / "sshd_config"), "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "sshd.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not answer within 15 s")

    def kill(self) -> None:
        """SIGKILL sshd and every session it serves. Each session's process calls setsid(), so it is
        not in sshd's process group: they are found as sshd's descendants."""
        if self.process is not None and self.process.poll() is None:
            sessions = _descendants(self.process.pid)
            os.killpg(self.process.pid, signal.SIGKILL)
            for pid in sessions:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def pause(self) -> None:
        """SIGSTOP sshd and every session it serves, as a host that hangs: connections stay open (new ones
        are even accepted by the kernel) and nothing answers on them, until ``resume``."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self) -> None:
        self.resume()  # a paused sshd would not hear SIGTERM
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A session-wide sshd on 127.0.0.1; tests put the files it serves under their own tmp_path."""
    server = SshServer.create(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_sshd(tmp_path: Path, sshd: SshServer) -> Iterator[SshServer]:
    """An sshd of this test's own, which it may kill and restart (same keys and port as each other)."""
    server = SshServer.create(tmp_path / "private-sshd")
    server.start()
    try:
        yield server
    finally:
        server.stop()
