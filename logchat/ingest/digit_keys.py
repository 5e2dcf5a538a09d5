"""Digit keys: a line's UTF-8 with its digits made alike, which ingest's caches use to treat lines of one shape
once ("port 60642" and "port 51234" share a key). The template miner, the secret mask and the field reader all
key by them."""

from __future__ import annotations

import re

# Every ASCII digit 1-9 becomes "1" (a bytes translation, ten times faster than masking). The key keeps the
# length, every non-digit and every "0": a zero that starts a number tells "0x1f" and "0101" from other numbers.
DIGIT_KEY = bytes.maketrans(b"23456789", b"11111111")
# A digit that texts of one digit key may differ in: any but a zero.
VARYING_UNDER_DIGIT_KEY = re.compile(r"[1-9]")
# A digit that the shared key (zeros_inside_numbers_blind) lets vary: any but a zero that starts a number.
VARYING_UNDER_SHARED_KEY = re.compile(r"[1-9]|(?<=[0-9])0")


def zeros_inside_numbers_blind(key: bytes) -> bytes:
    """The shared key of a digit key: its zeros after a digit are "1" too ("port 40260" and "port 51234" share
    it); ``key`` itself when it has none. Addresses and ports hold zeros anywhere, which make tens of thousands of
    digit keys, most met once or twice; their shared keys are a few hundred. What the masks and parsers of ingest
    tell apart is the same for all lines of a shared key: where numbers start and end (digits are digits), and
    whether a number starts with a zero ("0x1f", "007"); a zero after a digit can start neither a hex number nor
    a word. Only a digit outside the values (a name such as "k10", matched by VARYING_UNDER_SHARED_KEY) differs."""
    if b"10" not in key and b"00" not in key:
        return key
    # In a digit key every digit is "0" or "1": a run of zeros after a digit turns into ones pair by pair.
    blind = key.replace(b"00", b"01")
    while b"10" in blind:
        blind = blind.replace(b"10", b"11")
    return blind
