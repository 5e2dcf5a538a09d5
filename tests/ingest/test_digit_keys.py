"""Digit keys and the shared key that the template miner, the secret mask and the field reader key by."""

from __future__ import annotations

import random
import re

from logchat.ingest.digit_keys import DIGIT_KEY, VARYING_UNDER_SHARED_KEY, zeros_inside_numbers_blind


def test_a_digit_key_blind_to_zeros_inside_numbers_changes_only_those_zeros() -> None:
    """The shared key turns every zero that follows a digit into "1" and keeps every other byte: a zero that
    starts a number ("0", "0101", "0x1f") stays, so does everything that is not a digit."""
    generator = random.Random(3)
    texts = ["port 40260", "10.0.0.1", "0x100", "0101 00 000 0000", "arg00=1", "v0 x10y0", "1.050", "", "ü10 €00"]
    alphabet = "0000111239 .:=x-é"
    texts += ["".join(generator.choice(alphabet) for _ in range(generator.randint(0, 40))) for _ in range(5000)]
    for text in texts:
        key = text.encode().translate(DIGIT_KEY)
        blind = zeros_inside_numbers_blind(key)
        assert blind == re.sub(rb"(?<=[0-9])0", b"1", key), text
        assert (blind is key) == (blind == key)  # the key itself when nothing changes


def test_the_digits_that_vary_under_the_shared_key_are_those_it_turns_or_turned() -> None:
    generator = random.Random(5)
    for _ in range(3000):
        text = "".join(generator.choice("0012349 x.") for _ in range(generator.randint(1, 20)))
        varying = {found.start() for found in VARYING_UNDER_SHARED_KEY.finditer(text)}
        blind = zeros_inside_numbers_blind(text.encode().translate(DIGIT_KEY))
        assert varying == {at for at, char in enumerate(text) if char.isdigit() and blind[at:at + 1] == b"1"}, text
