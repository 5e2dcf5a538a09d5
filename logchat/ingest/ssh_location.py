"""ssh:// source URLs: parsing and the location a remote file is stored (and cited) under.

Pure and light (no SSH library): the configuration and the command line check URLs with it.
A URL is ``ssh://[user@]host[:port]/absolute/path-or-glob``. It is split by hand rather than by
urllib, which would take the ``?`` of a glob for the start of a query string.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from logchat.errors import SourceNotFound

SCHEME = "ssh://"
DEFAULT_PORT = 22


@dataclass(frozen=True)
class RemoteOptions:
    """How to reach hosts: from [remote] settings, a [[sources]] entry and the command line."""

    identity: str | None = None
    accept_new_host_key: bool = False
    known_hosts_file: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0

    @property
    def known_hosts(self) -> Path:
        return Path(os.path.expanduser(self.known_hosts_file or "~/.ssh/known_hosts"))


@dataclass(frozen=True)
class SshUrl:
    host: str
    path: str  # absolute on the host; may be a glob
    user: str | None = None
    port: int | None = None

    def location(self, path: str | None = None) -> str:
        """Where a file of this host is stored and cited: ``ssh://host[:port]/path``. The user is left
        out: the same file read as another user is the same file, and its checkpoint must be one."""
        return ssh_url(self.host, path or self.path, port=self.port)


def is_ssh_url(text: str) -> bool:
    return text[: len(SCHEME)].lower() == SCHEME


def ssh_url(host: str, path: str, *, user: str | None = None, port: int | None = None) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    who = f"{user}@" if user else ""
    where = f":{port}" if port and port != DEFAULT_PORT else ""
    return f"{SCHEME}{who}{shown_host}{where}{path}"


def parse_ssh_url(url: str) -> SshUrl:
    """Split an ssh:// URL; SourceNotFound naming the URL and what is wrong with it."""
    if not is_ssh_url(url):
        raise SourceNotFound(f"{url}: not an ssh:// URL")
    rest = url[len(SCHEME):]
    slash = rest.find("/")
    if slash == 0:
        raise SourceNotFound(f"{url}: no host name (ssh://host/path)")
    if slash < 0:
        raise SourceNotFound(f"{url}: give an absolute path after the host (ssh://host/var/log/syslog)")
    authority, path = rest[:slash], rest[slash:]
    user = None
    if "@" in authority:
        user, authority = authority.rsplit("@", 1)
        if not user:
            raise SourceNotFound(f"{url}: empty user name before '@'")
    port: int | None = None
    if authority.startswith("["):  # [IPv6 address]:port
        end = authority.find("]")
        if end < 0:
            raise SourceNotFound(f"{url}: unclosed '[' in the host")
        host, tail = authority[1:end], authority[end + 1:]
        port_text = tail[1:] if tail.startswith(":") else (None if not tail else "!")
    else:
        host, _, port_text = authority.partition(":")
        port_text = port_text if ":" in authority else None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise SourceNotFound(f"{url}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if not host:
        raise SourceNotFound(f"{url}: no host name")
    if path.strip("/") == "":
        raise SourceNotFound(f"{url}: give the file or glob to read on the host, not /")
    return SshUrl(host=host, path=path, user=user, port=port)
