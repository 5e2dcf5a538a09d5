"""A generated access log of many shapes, for the test that compares its value counts made by the reader process
and by the writer."""

from __future__ import annotations

from pathlib import Path


def write_access_log(path: Path, lines: int = 3_000) -> Path:
    """An access log mostly of common lines, and now and then: a client that is not an address, a user or a
    request that JSON escapes, a request without three parts, a status or a size with a leading zero or digits
    other than ASCII ones, a tail with an escape, a request time or more words, and a line that is not an
    access line (joined to the one before it, whose fields are then read from the whole text)."""
    paths = ["/api/v1/users/{n}", "/api/v1/orders/{n}?page=2", "/static/app.js", "/search?q={n}&token=abc123"]
    tails = [' "-" "curl/8.5.0"', ' "https://ref.example/?q=1" "Mozilla/5.0 (X11)"', ' "-" "-"', ""]
    rare_tails = [' "-" "agent" 0.123', ' "a\\"b" "ua"', ' "ref" "ua" extra words']
    statuses = ["200", "200", "404", "500", "301"]
    sizes = ["1536", "-", "0", "987", "20480"]
    written = []
    for n in range(lines):
        client = f"198.51.{n % 7}.{n % 251}" if n % 113 else ("2001:db8::1" if n % 2 else "host.example.com")
        user = 'bo"b' if n % 149 == 3 else ("alice" if n % 5 == 1 else "-")
        request = "BADREQUEST" if n % 97 == 0 else f"GET {paths[n % 4].format(n=n % 611)} HTTP/1.1"
        status = ("099" if n % 2 else "\u0662\u0660\u0660") if n % 131 == 5 else statuses[n % 5]
        size = ("0012" if n % 2 else "\u0661\u0662") if n % 137 == 6 else sizes[n % 5]
        tail = rare_tails[n % 3] if n % 139 == 7 else tails[n % 4]
        written.append(f'{client} - {user} [01/Nov/2026:10:{n // 60 % 60:02d}:{n % 60:02d} +0000] '
                       f'"{request}" {status} {size}{tail}')
        if n % 401 == 400:
            written.append("    upstream timed out while reading the response")
    path.write_text("\n".join(written) + "\n", encoding="utf-8")
    return path
