"""Files on other hosts, read over SSH: one connection per host (fabric, so ~/.ssh/config aliases,
users, ports, identity files and ProxyJump work), globs expanded by the host's shell, identity
(device, inode, size, mtime) from the host's `stat`, contents streamed over SFTP from an offset.

To the ingester a remote file looks like a local one: an identity and a seekable binary stream.
This module imports fabric and paramiko at the top, so it is itself imported only by the
functions that read remote sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import os
import shlex
import socket
import stat as stat_module
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import paramiko
from fabric import Connection

from logchat.errors import SourceError, SourceNotFound, SourceUnreadable
from logchat.ingest.sources import FileIdentity, SourceSpec, compression_of
from logchat.ingest.ssh_location import RemoteOptions, SshUrl, parse_ssh_url, ssh_url

# SFTP reads are pipelined a window at a time: enough requests in flight to fill a link, while
# memory stays bounded whatever the size of the file.
READ_WINDOW = 8 << 20
READ_BLOCK = 32 << 10  # paramiko's largest single SFTP read
_GLOB_CHARS = frozenset("*?[")
# Expand a glob (or name a file or directory) in the host's shell: IFS empty so the pattern is not
# split at spaces, unquoted $1 so it is still globbed. Directories are walked like local ones.
_EXPAND = (
    'IFS=; for f in $1; do if [ -d "$f" ]; then find "$f" -type f ! -name ".*" -print0; '
    'elif [ -f "$f" ]; then printf "%s\\0" "$f"; elif [ -e "$f" ]; then printf "!%s\\0" "$f"; fi; done'
)
# Rotation siblings (PATH*): their identity, one line each.
_SIBLINGS = 'for f in "$1"*; do [ -f "$f" ] && stat -L -c "%d %i %s %Y %n" -- "$f"; done; true'


class RemoteConnectionLost(OSError):
    """The connection to a host dropped (or stopped answering) in the middle of a read."""


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """A host not in known_hosts is refused, or with accept_new_host_key recorded in it (appended,
    leaving the rest of the file as it was). A known host with another key never gets here: paramiko
    raises BadHostKeyException for it."""

    def __init__(self, options: RemoteOptions, label: str) -> None:
        self.options = options
        self.label = label

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        known = self.options.known_hosts
        if not self.options.accept_new_host_key:
            raise SourceUnreadable(
                f"{self.label}: unknown host key for {hostname} ({_fingerprint(key)}), not in {known}: check the "
                "fingerprint, then run again with --accept-new-host-key (or accept_new_host_key = true for the source)"
            )
        known.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = paramiko.hostkeys.HostKeyEntry([hostname], key).to_line()
        with open(known, "a", encoding="utf-8") as handle:
            handle.write(line)
        client.get_host_keys().add(hostname, key.get_name(), key)


class RemoteHost:
    """One SSH connection to one host (reconnected after a loss). Thread-safe enough for its use: one
    thread connects and expands, then the ingester reads its files one at a time."""

    def __init__(self, url: SshUrl, options: RemoteOptions) -> None:
        self.url = url
        self.options = options
        self.label = ssh_url(url.host, "", port=url.port)  # names the host in every error line
        self._connection: Connection | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()
        self.lost = False

    # -- connecting -------------------------------------------------------------------------

    def connect(self) -> None:
        with self._lock:
            if self._connection is None:
                self._connection, self._sftp = self._open()
                self.lost = False

    def reconnect(self) -> None:
        self.close()
        self.connect()

    @property
    def connected(self) -> bool:
        """Whether the last attempt left a connection that has not been seen to fail since."""
        return self._connection is not None and not self.lost

    def close(self) -> None:
        with self._lock:
            connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None:
            connection.close()

    def _open(self) -> tuple[Connection, paramiko.SFTPClient]:
        options = self.options
        connect_kwargs: dict[str, Any] = {
            "banner_timeout": options.connect_timeout,
            "auth_timeout": options.connect_timeout,
            "channel_timeout": options.read_timeout,
            "allow_agent": True,
            "look_for_keys": True,  # keys and the agent only: no password is ever given or prompted for
        }
        if options.identity:
            connect_kwargs["key_filename"] = [os.path.expanduser(options.identity)]
        connection = Connection(
            self.url.host, user=self.url.user, port=self.url.port,
            connect_timeout=max(1, math.ceil(options.connect_timeout)), connect_kwargs=connect_kwargs,
        )
        # paramiko logs each failed handshake with a traceback; the error line below says it once.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        if connection.gateway is None:
            connection.connect_kwargs["sock"] = self._reach(connection.host, int(connection.port))
        # fabric accepts any host key by default: check them against known_hosts instead.
        client = paramiko.SSHClient()
        if options.known_hosts.is_file():
            client.load_host_keys(str(options.known_hosts))
        client.set_missing_host_key_policy(_HostKeyPolicy(options, self.label))
        connection.client = client
        try:
            connection.open()
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(options.read_timeout)  # type: ignore[union-attr]
        except SourceError:
            connection.close()
            raise
        except Exception as exc:  # paramiko and socket errors of every kind: one line naming the host
            connection.close()
            raise SourceUnreadable(f"{self.label}: {self._why_not_connected(connection, exc)}") from exc
        return connection, sftp

    def _reach(self, host: str, port: int) -> socket.socket:
        """A TCP connection on which the server has begun to speak: a host that is down, refuses, or
        accepts and then says nothing is told apart here, each in its own words."""
        timeout = self.options.connect_timeout
        where = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except socket.gaierror as exc:
            raise SourceUnreadable(f"{self.label}: unknown host name {host!r}") from exc
        except ConnectionRefusedError as exc:
            raise SourceUnreadable(f"{self.label}: cannot connect to {where}: connection refused") from exc
        except TimeoutError as exc:
            raise SourceUnreadable(f"{self.label}: no answer from {where} within {timeout:g}s") from exc
        except OSError as exc:
            raise SourceUnreadable(f"{self.label}: cannot connect to {where}: {exc.strerror or exc}") from exc
        try:
            greeting = sock.recv(4, socket.MSG_PEEK)  # left in place for paramiko to read
        except TimeoutError as exc:
            sock.close()
            raise SourceUnreadable(f"{self.label}: no answer from {where} within {timeout:g}s") from exc
        except OSError as exc:
            sock.close()
            raise SourceUnreadable(f"{self.label}: cannot connect to {where}: {exc.strerror or exc}") from exc
        if not greeting:
            sock.close()
            raise SourceUnreadable(f"{self.label}: {where} closed the connection without a word")
        return sock

    def _why_not_connected(self, connection: Connection, exc: Exception) -> str:
        where = f"{connection.host}:{connection.port}"
        if isinstance(exc, paramiko.BadHostKeyException):
            return (f"the host key of {exc.hostname} has CHANGED (now {_fingerprint(exc.key)}, "
                    f"{self.options.known_hosts} has {_fingerprint(exc.expected_key)}): refusing to connect; if "
                    f"the host was reinstalled, remove the old key with `ssh-keygen -R {exc.hostname} -f "
                    f"{self.options.known_hosts}`")
        if isinstance(exc, paramiko.AuthenticationException):
            keys = self.options.identity or "the agent's keys and ~/.ssh/id_*"
            return (f"authentication failed as {connection.user!r} with {keys} (logchat logs in with keys only, "
                    "never a password)")
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return f"cannot connect to {where}: connection refused"
        if isinstance(exc, TimeoutError | socket.timeout) or "banner" in str(exc).lower():
            return f"no answer from {where} within {self.options.connect_timeout:g}s"
        if isinstance(exc, socket.gaierror):
            return f"unknown host name {connection.host!r}"
        if isinstance(exc, OSError):
            return f"cannot connect to {where}: {exc.strerror or exc}"
        return f"cannot connect to {where}: {exc}"

    # -- commands ---------------------------------------------------------------------------

    def _run(self, script: str, argument: str) -> tuple[int, bytes, bytes]:
        """Run a small sh script with one argument on the host: (exit status, stdout, stderr)."""
        self.connect()
        assert self._connection is not None
        command = f"sh -c {shlex.quote(script)} sh {shlex.quote(argument)}"
        try:
            # The script is a constant and its one argument is shell-quoted.
            _, stdout, stderr = self._connection.client.exec_command(  # nosec B601
                command, timeout=self.options.read_timeout)
            out, err = stdout.read(), stderr.read()
            return stdout.channel.recv_exit_status(), out, err
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.lost = True
            raise SourceUnreadable(f"{self.label}: connection lost: {exc or type(exc).__name__}") from exc

    def expand(self, pattern: str) -> tuple[list[str], list[str]]:
        """(regular files, other things) the path or glob names on the host, sorted."""
        _, out, _ = self._run(_EXPAND, pattern)
        names = [name.decode("utf-8", "surrogateescape") for name in out.split(b"\0") if name]
        files = sorted(name for name in names if not name.startswith("!"))
        others = sorted(name[1:] for name in names if name.startswith("!"))
        return files, others

    def identify(self, path: str) -> FileIdentity:
        status, out, err = self._run('stat -L -c "%d %i %s %Y %f" -- "$1"', path)
        if status != 0:
            message = err.decode("utf-8", "replace").strip().lower()
            location = self.url.location(path)
            if "no such file" in message:
                raise SourceNotFound(f"{location}: no such file")
            if "permission denied" in message:
                raise SourceUnreadable(f"{location}: permission denied")
            raise SourceUnreadable(f"{location}: stat failed: {message or f'exit {status}'}")
        device, inode, size, mtime, mode = out.split()
        if not stat_module.S_ISREG(int(mode, 16)):
            raise SourceUnreadable(f"{self.url.location(path)}: not a regular file")
        return FileIdentity(int(device), int(inode), int(size), float(mtime))

    def size_and_mtime(self, path: str) -> tuple[int, int]:
        """(size, mtime) by an SFTP stat on the open connection: a few milliseconds where `identify`
        starts a command on the host (tens to hundreds). No inode: for noticing that a file changed."""
        self.connect()
        assert self._sftp is not None
        try:
            attributes = self._sftp.stat(path)
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{self.url.location(path)}: no such file") from exc
        except PermissionError as exc:
            raise SourceUnreadable(f"{self.url.location(path)}: permission denied") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.lost = True
            raise SourceUnreadable(f"{self.label}: connection lost: {exc or type(exc).__name__}") from exc
        return attributes.st_size or 0, attributes.st_mtime or 0

    def siblings(self, path: str) -> list[tuple[str, FileIdentity]]:
        """Regular files named PATH* (logrotate's PATH.1, PATH-20261203) with their identity."""
        _, out, _ = self._run(_SIBLINGS, path)
        found = []
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            device, inode, size, mtime, name = line.split(" ", 4)
            found.append((name, FileIdentity(int(device), int(inode), int(size), float(mtime))))
        return found

    # -- contents ---------------------------------------------------------------------------

    def open(self, path: str) -> BinaryIO:
        """A seekable buffered stream of the file; reads are pipelined over SFTP a window at a time."""
        self.connect()
        assert self._sftp is not None
        try:
            handle = self._sftp.open(path, "rb")
        except PermissionError as exc:
            raise SourceUnreadable(f"{self.url.location(path)}: permission denied") from exc
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{self.url.location(path)}: no such file") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.lost = True
            raise SourceUnreadable(f"{self.url.location(path)}: connection lost: {exc}") from exc
        return io.BufferedReader(_SftpStream(self, handle), buffer_size=1 << 20)  # type: ignore[return-value]

    def head_checksum(self, path: str, length: int) -> str:
        with self.open(path) as handle:
            return hashlib.sha1(handle.read(length), usedforsecurity=False).hexdigest()


class _SftpStream(io.RawIOBase):
    """An SFTP file as a raw stream. Never a short end: a lost connection raises (an OSError the line
    reader records), so a line cut by it is not taken for the file's last line."""

    def __init__(self, host: RemoteHost, handle: paramiko.SFTPFile) -> None:
        super().__init__()
        self._host = host
        self._handle = handle
        self._position = 0
        self._blocks: Iterator[bytes] = iter(())
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence == io.SEEK_END:
            offset += self._guard(lambda: self._handle.stat().st_size or 0)
        self._position = max(0, offset)
        self._blocks, self._pending = iter(()), memoryview(b"")
        return self._position

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = memoryview(self._guard(self._next_block))
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._position += count
        return count

    def _next_block(self) -> bytes:
        for block in self._blocks:
            if block:
                return block
        # The window is done: the next one, up to the size now (the file may have grown meanwhile).
        size = self._handle.stat().st_size or 0
        if self._position >= size:
            return b""
        end = min(size, self._position + READ_WINDOW)
        chunks = [(start, min(READ_BLOCK, end - start)) for start in range(self._position, end, READ_BLOCK)]
        self._blocks = iter(self._handle.readv(chunks))
        return next(self._blocks, b"")

    def _guard(self, read: Any) -> Any:
        try:
            return read()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self._host.lost = True
            raise RemoteConnectionLost(f"connection to {self._host.label} lost: {exc or type(exc).__name__}") from exc

    def close(self) -> None:
        with contextlib.suppress(paramiko.SSHException, EOFError, OSError):  # the connection may be gone already
            self._handle.close()
        super().close()


# --- expansion --------------------------------------------------------------------------------


@dataclass
class RemoteRequest:
    """One ssh:// URL to expand, with the name and format its files get and how to reach its host."""

    url: str
    name: str | None
    fmt: str
    options: RemoteOptions


@dataclass
class RemoteExpansion:
    specs: list[SourceSpec]
    problems: list[tuple[str, SourceError]]


class HostPool:
    """The connections of one ingest run, by host, user, port and options; closed at its end."""

    def __init__(self, max_hosts: int) -> None:
        self.max_hosts = max_hosts
        self._hosts: dict[tuple[Any, ...], RemoteHost] = {}

    def host(self, url: SshUrl, options: RemoteOptions) -> RemoteHost:
        key = (url.host, url.user, url.port, options)
        if key not in self._hosts:
            self._hosts[key] = RemoteHost(url, options)
        return self._hosts[key]

    def expand(self, requests: list[RemoteRequest]) -> list[RemoteExpansion]:
        """Each request's files, in the order given; hosts are connected to and asked concurrently
        (at most ``max_hosts`` at a time), the URLs of one host one after the other."""
        results: list[RemoteExpansion | None] = [None] * len(requests)
        by_host: dict[int, list[int]] = {}
        hosts: dict[int, RemoteHost] = {}
        for index, request in enumerate(requests):
            try:
                url = parse_ssh_url(request.url)
            except SourceError as exc:
                results[index] = RemoteExpansion([], [(request.url, exc)])
                continue
            host = self.host(url, request.options)
            hosts[id(host)] = host
            by_host.setdefault(id(host), []).append(index)

        def expand_host(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = _expand_one(self, requests[index])

        with ThreadPoolExecutor(max_workers=self.max_hosts, thread_name_prefix="logchat-ssh") as pool:
            list(pool.map(expand_host, by_host.values()))
        return [result or RemoteExpansion([], []) for result in results]

    def close(self) -> None:
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()


def _expand_one(pool: HostPool, request: RemoteRequest) -> RemoteExpansion:
    url = parse_ssh_url(request.url)
    host = pool.host(url, request.options)
    try:
        host.connect()
        files, others = host.expand(url.path)
    except SourceError as exc:
        return RemoteExpansion([], [(request.url, exc)])
    problems: list[tuple[str, SourceError]] = [
        (url.location(other), SourceUnreadable(f"{url.location(other)}: not a regular file")) for other in others
    ]
    if not files and not problems:
        why = "no file matches this pattern" if _GLOB_CHARS & set(url.path) else "no such file or directory"
        problems.append((request.url, SourceNotFound(f"{request.url}: {why}")))
    from_walk = bool(_GLOB_CHARS & set(url.path)) or len(files) > 1
    specs = [_spec(url, host, path, request, from_walk) for path in files]
    return RemoteExpansion(specs, problems)


def _spec(url: SshUrl, host: RemoteHost, path: str, request: RemoteRequest, from_walk: bool) -> SourceSpec:
    remote_path = PurePosixPath(path)
    return SourceSpec(
        location=url.location(path), name=request.name or remote_path.name,
        kind=compression_of(Path(remote_path.name)) or "file", path=remote_path,  # type: ignore[arg-type]
        format=request.fmt, from_walk=from_walk, files=RemoteFiles(host),
    )


class RemoteFiles:
    """A host's files behind the interface the ingester reads local files through."""

    remote = True

    def __init__(self, host: RemoteHost) -> None:
        self.host = host

    def identify(self, path: PurePosixPath) -> FileIdentity:
        return self.host.identify(str(path))

    def open(self, path: PurePosixPath) -> BinaryIO:
        return self.host.open(str(path))

    def head_checksum(self, path: PurePosixPath, length: int) -> str:
        return self.host.head_checksum(str(path), length)

    def siblings(self, path: PurePosixPath) -> Iterable[tuple[PurePosixPath, FileIdentity]]:
        return [(PurePosixPath(name), identity) for name, identity in self.host.siblings(str(path))]

    def size_and_mtime(self, path: PurePosixPath) -> tuple[int, int]:
        return self.host.size_and_mtime(str(path))

    @property
    def lost(self) -> bool:
        return self.host.lost

    @property
    def connected(self) -> bool:
        return self.host.connected

    def reconnect(self) -> None:
        self.host.reconnect()
