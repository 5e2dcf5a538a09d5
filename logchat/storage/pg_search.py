"""The full-text vector of an event built by ingest itself, equal to what PostgreSQL computes for it.

``events.search`` is ``to_tsvector('english', text)`` of the event's ``coalesce(process, '') || ' ' ||
message`` with every ASCII character other than a letter or digit turned into a space (migration 0011;
since 0014 a trigger computes it for rows written without it). Computing it was two thirds of the server's
work per ingested event, and the server is one of the two cores ingest has; the client can build the same
value from a per-word cache far cheaper.

Why a per-word cache gives exactly the server's value: after the separators become spaces, the text is
words (runs of ASCII letters and digits, and of non-ASCII characters) between spaces, and the server's
parser never continues a token across a space. So the vector of the text is the words' vectors laid end
to end: each word contributes its lexemes at positions counted from where the previous word ended, and
takes as many positions as it has tokens that a dictionary handles (a stop word takes its position and
gives no lexeme). What a word gives is asked of the server itself, once per word not yet seen, so
stemming, stop words and the parser's token types are the server's own. The vector is then what
PostgreSQL's ``uniqueWORD`` makes of the positions: each lexeme's distinct positions in order, limited to
16383 and to the first 255.
"""

from __future__ import annotations

import re
import struct
import weakref
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["WordCache", "search_text", "vector_builder", "vectors_for"]

# Migration 0011's separators, every ASCII character but 0-9, A-Z and a-z, become spaces in the text's UTF-8
# bytes (non-ASCII characters are bytes above 0x7F, untouched). NUL never reaches here: PostgreSQL text
# cannot hold it, ingest stores U+FFFD instead.
_SEPARATORS = bytes(code for code in range(1, 128) if not chr(code).isalnum())
_TO_SPACES = bytes.maketrans(_SEPARATORS, b" " * len(_SEPARATORS))
_DIGITS = re.compile(rb"[0-9]+").fullmatch
_MAX_POSITION = 16383  # MAXENTRYPOS - 1: later positions all become this one
_MAX_POSITIONS = 255  # MAXNUMPOS - 1: positions a lexeme keeps
_MAX_TOKEN_BYTES = 2047  # MAXSTRLEN: longer tokens are left out of the vector (without a position)
# Appended to a word to learn how many positions the word takes: "1.5" is one token (a float) and, as it
# holds a dot, no lexeme of a word (which has none) can equal it.
_MARKER = "1.5"
_STOP = b""
_WORDS_PER_QUERY = 5000
_CACHE_WORDS = 400_000  # about 60 MB at most; a full cache starts over rather than tracking use
_CACHE_TEXTS = 65_536  # about 20 MB for lines of 100 characters

_COUNT = struct.Struct("!i").pack
# A lexeme's tail when it has one position, for every position: most lexemes of a line occur once.
_ONE_POSITION = [struct.pack("!HH", 1, position) for position in range(_MAX_POSITION + 1)]


class WordCache:
    """What each word (its UTF-8 bytes) gives a vector, as the server of one connection said: the lexeme
    (UTF-8, NUL-terminated as tsvector sends it) for the usual word of one token; ``_STOP`` for a stop word
    (a position, no lexeme); or (lexemes with positions counted from 1, positions taken) for anything else."""

    def __init__(self) -> None:
        self.words: dict[bytes, Any] = {}
        # Whole texts seen lately and their vectors: log lines repeat (three in four of loghub's messages
        # are the same text as another), and a repeated text then costs one dict lookup.
        self.texts: dict[str, bytes] = {}
        # Whether runs of ASCII digits are their own lexeme (one uint token, the simple dictionary without
        # stop words): asked of the server once, so that numbers, the words seen once, need no question.
        self.digits_are_lexemes: bool | None = None

    def learn(self, cursor: Any, words: Sequence[bytes]) -> None:
        if self.digits_are_lexemes is None:
            probe = [b"0", b"42", b"007", b"18446744073709551616"]
            self.digits_are_lexemes = _ask(cursor, probe) == {word: word + b"\0" for word in probe}
        remaining = []
        for word in words:
            if self.digits_are_lexemes and len(word) < _MAX_TOKEN_BYTES and _DIGITS(word):
                self.words[word] = word + b"\0"
            else:
                remaining.append(word)
        for start in range(0, len(remaining), _WORDS_PER_QUERY):
            self.words.update(_ask(cursor, remaining[start : start + _WORDS_PER_QUERY]))


def _ask(cursor: Any, words: Sequence[bytes]) -> dict[bytes, Any]:
    """Each word's contribution as the server computes it: the vector of the word followed by the marker."""
    found: list[list[tuple[bytes, int]]] = [[] for _ in words]
    taken = [0] * len(words)
    cursor.execute(
        "SELECT u.n, v.lexeme, v.positions FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, n), "
        "LATERAL unnest(to_tsvector('english', u.w || ' ' || %s)) AS v",
        ([word.decode() for word in words], _MARKER),
    )
    for number, lexeme, positions in cursor:
        if lexeme == _MARKER:
            taken[number - 1] = positions[-1] - 1
        else:
            key = lexeme.encode() + b"\0"
            found[number - 1].extend((key, position) for position in positions)
    contributions: dict[bytes, Any] = {}
    for word, lexemes, count in zip(words, found, taken, strict=True):
        if count == 1 and len(lexemes) == 1:
            contributions[word] = lexemes[0][0]
        elif count == 1 and not lexemes:
            contributions[word] = _STOP
        else:
            contributions[word] = (tuple(sorted(lexemes, key=lambda item: item[1])), count)
    return contributions


def search_text(process: str | None, message: str) -> str:
    """The text events.search is built from (before the separators become spaces)."""
    return f"{process or ''} {message}"


def _words(text: str) -> list[bytes]:
    return text.encode().translate(_TO_SPACES).split()


_caches: weakref.WeakKeyDictionary[Any, WordCache] = weakref.WeakKeyDictionary()


def vector_builder(connection: Any, cursor: Any, texts: Sequence[str]) -> Callable[[int], bytes]:
    """A function giving the binary tsvector (PostgreSQL's send format) of ``texts[i]``, once every word
    of them is known: unknown ones are asked of ``cursor`` first, in a few queries. The vectors themselves
    are built as the caller needs them, inside its COPY, while the server takes in the rows before. The
    caches belong to ``connection`` (a psycopg connection): the words are its database's."""
    cache = _caches.get(connection)
    if cache is None:
        cache = _caches[connection] = WordCache()
    words, built = cache.words, cache.texts
    if len(built) + len(texts) > _CACHE_TEXTS:
        built.clear()
    word_lists = [None if text in built else _words(text) for text in texts]
    every_word: set[bytes] = set().union(*filter(None, word_lists))
    unknown = every_word - words.keys()
    if len(words) + len(unknown) > _CACHE_WORDS:
        words.clear()
        unknown = every_word
    if unknown:
        cache.learn(cursor, sorted(unknown))

    def build(index: int) -> bytes:
        text = texts[index]
        vector = built.get(text)
        if vector is None:
            vector = _vector(words, word_lists[index] or _words(text))
            if vector is None:
                raise LookupError(f"a word of {text!r} has no answer from the server")
            built[text] = vector
        return vector

    return build


def vectors_for(connection: Any, cursor: Any, texts: Sequence[str]) -> list[bytes]:
    """The binary tsvector of each text, as :func:`vector_builder` builds them."""
    build = vector_builder(connection, cursor, texts)
    return [build(index) for index in range(len(texts))]


def _vector(words: dict[bytes, Any], text_words: list[bytes]) -> bytes | None:
    """The vector of a text's words, or None when one of them is not in ``words`` yet. The common case,
    words of one token each, stays in this loop; the rest is :func:`_any_vector`'s."""
    lexemes: dict[bytes, int] = {}
    first = lexemes.setdefault
    repeats: list[tuple[bytes, int]] = []
    position = 0
    for word in text_words:
        given = words.get(word)
        if given.__class__ is not bytes:
            return None if given is None else _any_vector(words, text_words)
        position += 1
        if given and first(given, position) != position:
            repeats.append((given, position))
    if position > _MAX_POSITION:
        return _any_vector(words, text_words)
    if not repeats:
        return _COUNT(len(lexemes)) + b"".join([key + _ONE_POSITION[lexemes[key]] for key in sorted(lexemes)])
    more: dict[bytes, list[int]] = {}
    for key, position in repeats:
        more.setdefault(key, [lexemes[key]]).append(position)
    return _COUNT(len(lexemes)) + b"".join(
        [key + (_ONE_POSITION[lexemes[key]] if key not in more else _positions(more[key])) for key in sorted(lexemes)]
    )


def _any_vector(words: dict[bytes, Any], text_words: list[bytes]) -> bytes | None:
    lexemes: dict[bytes, list[int]] = {}
    position = 0
    for word in text_words:
        given = words.get(word)
        if given is None:
            return None
        if given.__class__ is bytes:
            position += 1
            if given:
                lexemes.setdefault(given, []).append(min(position, _MAX_POSITION))
        else:
            for key, offset in given[0]:
                lexemes.setdefault(key, []).append(min(position + offset, _MAX_POSITION))
            position += given[1]
    return _encode(lexemes)


def _encode(lexemes: dict[bytes, list[int]]) -> bytes:
    """tsvectorsend's format: the count, then each lexeme in byte order (the order tsvector keeps), NUL-
    terminated, with its positions."""
    return _COUNT(len(lexemes)) + b"".join([key + _positions(sorted(set(lexemes[key]))) for key in sorted(lexemes)])


def _positions(positions: list[int]) -> bytes:
    """Distinct positions in ascending order, of which a lexeme keeps the first 255."""
    kept = positions[:_MAX_POSITIONS]
    return struct.pack(f"!H{len(kept)}H", len(kept), *kept)
