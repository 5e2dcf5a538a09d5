"""Files of the web pages, shipped inside the package (no build step)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def page(name: str) -> str:
    return (files("logchat.daemon") / "web" / name).read_text(encoding="utf-8")
