"""Named, typed values of an event's variables: pure functions shared by ingest and the queries.

Two readers live here. :func:`extract_fields` runs at ingest for every event: it names each variable of
the event's template from its context (``port <NUM>`` -> port, ``from <IP>`` -> from, ``key=<*>`` ->
key, ``took <NUM>ms`` -> took), or by its position (``arg3``) when nothing names it, and types the value
(int, float, ip, id, string), converting numbers with units to seconds, bytes or percent. JSON lines,
logfmt and access logs are read by their own structure instead. The result is stored with the event,
so SQL can filter, group and aggregate on it.

:func:`extract_variables` and :func:`variable_reader` are the older, coarser labels (ip, user, port,
number) that the answers of ``ask`` read from sampled messages.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any

from logchat.ingest.digit_keys import (
    DIGIT_KEY,
    VARYING_UNDER_DIGIT_KEY,
    VARYING_UNDER_SHARED_KEY,
    zeros_inside_numbers_blind,
)
from logchat.redaction import mask_secrets, might_hold_secret
from logchat.vocabulary import IDENTIFIER, LABEL, MEASURE

FieldValue = str | int | float
Fields = dict[str, FieldValue]

# Field types (what a value is); kinds (what may be computed over it) are logchat.vocabulary's.
TYPES = ("int", "float", "ip", "id", "string")

# Normalised units: durations in seconds, sizes in bytes, shares in percent.
SECONDS, BYTES, PERCENT = "s", "B", "%"
_UNIT_SCALE: dict[str, tuple[float, str]] = {
    "ns": (1e-9, SECONDS), "us": (1e-6, SECONDS), "µs": (1e-6, SECONDS), "ms": (1e-3, SECONDS),
    "s": (1.0, SECONDS), "sec": (1.0, SECONDS), "secs": (1.0, SECONDS), "second": (1.0, SECONDS),
    "seconds": (1.0, SECONDS), "min": (60.0, SECONDS), "mins": (60.0, SECONDS),
    "b": (1.0, BYTES), "byte": (1.0, BYTES), "bytes": (1.0, BYTES),
    # Sizes in logs are written by software that counts in powers of two (Java, Linux, databases).
    "k": (1024.0, BYTES), "kb": (1024.0, BYTES), "kib": (1024.0, BYTES),
    "m": (1024.0**2, BYTES), "mb": (1024.0**2, BYTES), "mib": (1024.0**2, BYTES),
    "g": (1024.0**3, BYTES), "gb": (1024.0**3, BYTES), "gib": (1024.0**3, BYTES),
    "%": (1.0, PERCENT),
}  # fmt: skip
# A unit glued to a number ("877ms", "3.5GB", "12%"); "m" and "k" alone only as separate words would be
# too loose, so the glued form accepts the unambiguous spellings.
_NUMBER_WITH_UNIT = re.compile(
    r"([-+]?\d+(?:\.\d+)?)(ns|us|µs|ms|s|sec|secs|min|b|bytes|kb|kib|mb|mib|gb|gib|%)?", re.IGNORECASE
)
_INT = re.compile(r"[-+]?\d{1,18}")
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IP_WITH_PORT = re.compile(r"/?(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?")
_HEX_ID = re.compile(r"0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                     r"|(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}")
# Names of numbers that identify rather than measure.
_IDENTIFIER_NAMES = frozenset({
    "port", "pid", "ppid", "tid", "uid", "gid", "euid", "egid", "id", "status", "code", "status_code", "errno",
    "exit", "exit_code", "line", "lineno", "thread", "block", "blk", "session", "sid", "seq", "version",
    "request_id", "job", "task", "attempt", "container", "slot", "partition", "rdd", "shard", "node",
})  # fmt: skip
# Names of a value that is a duration; written without a unit, the value is in seconds (what clocks subtract).
_DURATION_NAMES = frozenset({"time", "elapsed", "duration"})
# A key named like a credential is never stored as a field (its value would be the secret).
CREDENTIAL_NAME = re.compile(r"pass|pwd|token|secret|key|cookie|sess|auth|credential|bearer", re.IGNORECASE)
_MAX_FIELDS = 64
_MAX_TEXT = 256
_MAX_NAME = 48
_STRIP = "[](),;'\"{}<>"
_STRIP_TEMPLATE = "[](),;'\"{}"
_STRIP_END = _STRIP + ":."  # and the sentence's punctuation after a value: "from 10.0.0.1." "(TID 3)."


# --- typed fields --------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:\*|[A-Z]+)>")
_KEY = re.compile(r"[A-Za-z_][\w.-]{0,47}")
_WORD = re.compile(r"[a-z][a-z_-]{0,47}")
# Words too vague to name the value that follows them.
_VAGUE = frozenset({"a", "an", "the", "of", "is", "was", "are", "be", "and", "or", "in", "on", "at", "as", "it"})
# Words whose next word is a value even while the template still holds it literally.
_NAMING_WORDS = {"user": "user", "users": "user", "username": "user", "ruser": "ruser", "rhost": "rhost",
                 "from": "from", "port": "port", "host": "host"}  # fmt: skip
# Names whose values are names even when they look like numbers (a user "0", a host "1").
_TEXT_NAMES = frozenset({"user", "ruser", "username", "logname", "host", "rhost", "hostname"})
# Keys logfmt and JSON records use for the header (time, level, message): columns of the event already.
_HEADER_KEYS = frozenset({"time", "ts", "t", "timestamp", "@timestamp", "date", "datetime", "level", "lvl",
                          "severity", "msg", "message", "@message", "@t", "@l", "@m", "@mt"})
_PAIR = re.compile(r'([A-Za-z_@][\w.@-]{0,63})=("(?:[^"\\]|\\.)*"|[^\s"]+)')
_LOOSE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])|\b(port|user)[ :](\S+)")
_ACCESS = re.compile(
    r'(\S+) \S+ (\S+) \[[^\]]*\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)'
)
_TOKEN_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*[_-]-?\d[\w-]*")
_CREDENTIAL_FIELD = re.compile(
    r"pass|pwd|token|secret|cookie|credential|bearer|authorization|(?:^|_)key$|private_?key|api_?key", re.IGNORECASE
)
_NAME_CHARS = re.compile(r"[^a-z0-9_]+")


def field_name(key: str) -> str:
    """A key as a field name: lower-case letters, digits and "_" ("http.status" -> "http_status")."""
    name = _NAME_CHARS.sub("_", key.lower()).strip("_")[:_MAX_NAME]
    return name if name and not name[0].isdigit() else f"f_{name}"[:_MAX_NAME]


def typed_value(text: str, unit_word: str | None = None) -> tuple[FieldValue, str | None]:
    """A value as stored, and its normalised unit: "877ms" -> (0.877, "s"), "3" -> (3, None),
    "1.2.3.4" -> ("1.2.3.4", None). ``unit_word`` is a unit written as the next word ("512 bytes")."""
    if unit_word is None and text.isdigit() and text.isascii():  # the common case, without a regex
        if len(text) > 18 or (text[0] == "0" and len(text) > 1):
            return text, None  # beyond 64-bit integers, or "0101": an identifier or a name, not a quantity
        return int(text), None
    match = _NUMBER_WITH_UNIT.fullmatch(text)
    if match is None:
        return text[:_MAX_TEXT], None
    number, unit = match.groups()
    if unit is None and unit_word is not None:
        unit = unit_word
    if unit is None:
        if "." in number:
            value = float(number)
            return (value, None) if math.isfinite(value) else (text[:_MAX_TEXT], None)
        digits = number.lstrip("+-")
        if len(digits) > 18 or (digits[0] == "0" and len(digits) > 1):
            return text, None  # beyond 64-bit integers, or "0101": an identifier or a name, not a quantity
        return int(number), None
    scale, normal = _UNIT_SCALE[unit.lower()]
    if "." not in number and scale >= 1 and len(number) <= 15:
        return int(number) * int(scale), normal
    value = float(number) * scale
    return (value, normal) if math.isfinite(value) else (text[:_MAX_TEXT], None)


def type_of(value: FieldValue) -> str:
    """int, float, ip, id or string."""
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if _IP.fullmatch(value):
        return "ip"
    if _HEX_ID.fullmatch(value) or _TOKEN_ID.fullmatch(value):
        return "id"
    return "string"


def kind_of(name: str, value_type: str) -> str:
    """measure (numbers one may add up), identifier (ports, pids, codes, ids) or label (text, addresses)."""
    if value_type in ("int", "float"):
        base = name.rsplit("_", 1)[0] if name[-1:].isdigit() and "_" in name else name
        if base in _IDENTIFIER_NAMES or base.endswith(("_id", "port", "pid", "_code", "_status")):
            return IDENTIFIER
        return MEASURE
    return IDENTIFIER if value_type == "id" else LABEL


def widest_type(first: str, second: str) -> str:
    """The type that holds both: a slot seen with 3 and with 2.5 is float, with 3 and "n/a" string."""
    if first == second:
        return first
    if {first, second} <= {"int", "float"}:
        return "float"
    return "string"


@dataclass(frozen=True, slots=True)
class _Slot:
    position: int  # index of the template token holding the variable
    name: str
    prefix: str  # "key=" of a key=value token: the value follows it
    unit_word: str | None  # a unit written as the next word ("<NUM> bytes")


@dataclass(frozen=True, slots=True)
class _Plan:
    width: int
    slots: tuple[_Slot, ...]
    constants: tuple[tuple[str, FieldValue], ...]  # key=value tokens the template holds literally


@lru_cache(maxsize=8192)
def _plan(template: str) -> _Plan:
    tokens = template.split()
    slots: list[_Slot] = []
    constants: list[tuple[str, FieldValue]] = []
    taken: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        return candidate

    for position, token in enumerate(tokens):
        core = token.strip(_STRIP_TEMPLATE)
        previous = tokens[position - 1].strip(_STRIP_TEMPLATE).rstrip(":=").lower() if position else ""
        if _PLACEHOLDER.search(core) is None:
            key, sep, value = core.partition("=")
            if sep and value and _KEY.fullmatch(key) and not _CREDENTIAL_FIELD.search(key):
                constants.append((unique(field_name(key)), typed_value(value)[0]))
            elif previous in _NAMING_WORDS and core and not sep:
                # "user webmaster" before the miner has seen a second user: already the user's value,
                # so the field exists from a template's first event on.
                slots.append(_Slot(position, unique(_NAMING_WORDS[previous]), "", None))
            continue
        prefix = ""
        key, sep, rest = core.partition("=") if "=" in core else core.partition(":")
        if sep and _KEY.fullmatch(key) and _PLACEHOLDER.match(rest):
            name, prefix = field_name(key), key + sep
        elif (dash := re.match(r"([A-Za-z]{2,})[_-]<", core)) is not None:
            name = field_name(dash.group(1))  # blk_<NUM>, job_<NUM>_<NUM>: the whole token is an id
        else:
            if previous in ("=", ":", "") and position >= 2:  # "total = <NUM>", "user : <*>"
                previous = tokens[position - 2].strip(_STRIP_TEMPLATE).rstrip(":=").lower()
            usable = _WORD.fullmatch(previous) is not None and previous not in _VAGUE
            # By position, which stays the same when the miner generalises another token of the template.
            name = field_name(previous) if usable else f"arg{position + 1}"
        following = tokens[position + 1].strip(_STRIP_TEMPLATE).lower() if position + 1 < len(tokens) else ""
        unit_word = following if following in _UNIT_SCALE and len(following) > 1 else None
        if unit_word is not None and name.startswith("arg"):
            name = field_name(following)  # "<NUM> bytes result sent": the unit is the best name there is
        if _CREDENTIAL_FIELD.search(name):
            continue
        if unit_word is None and name in _DURATION_NAMES:
            unit_word = "seconds"  # "time: 0.2477829" says no unit: a duration written bare is in seconds
        slots.append(_Slot(position, unique(name), prefix, unit_word))
    return _Plan(len(tokens), tuple(slots), tuple(constants))


Units = dict[str, str]


def extract_fields(
    template: str, message: str, fmt: str = "", raw: str = "", *, secrets: bool | None = None
) -> tuple[Fields, Units | None]:
    """The named, typed values of one event, and the unit of those that have one.

    ``message`` is the message the template was mined from (secrets masked); ``fmt`` the parser's
    format name, ``raw`` the event's original text (read instead for JSON lines, logfmt and access logs);
    ``secrets`` whether the message held any (None: look in ``raw``).
    """
    structured = _STRUCTURED.get(fmt.rpartition("+")[2]) if fmt else None
    if structured is not None:
        found = structured(raw, might_hold_secret(raw) if secrets is None else secrets)
        if found is not None:
            return found
    return _read_by_plan(_plan(template), message)


def read_by_structure(fmt: str) -> bool:
    """Whether events of the format ``fmt`` are read by their own structure (JSON lines, logfmt, access logs)
    rather than by their template."""
    return fmt.rpartition("+")[2] in _STRUCTURED if fmt else False


def _json_fields(raw: str, secrets: bool) -> tuple[Fields, Units | None] | None:
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    return _record_fields(record, secrets)


class FieldReader:
    """Reads the fields of the events of one source as ingest produces them, straight to their stored JSON.

    The plan of each template is kept until the miner changes that template; each of its slots keeps what
    a word of each digit key gives (_read_by_slots). On top of it, messages that differ only in their
    digits 1-9 and in the zeros after a digit (the miner's digit key, blind to those zeros) split into the
    same words, type their values the same way and need the same escaping, so the fourth of them yields a
    recipe: the JSON text with holes and the character spans of the message that fill them. Every later
    message of that shape costs a dict lookup, one slicing and one string formatting. Shapes a recipe cannot
    express (escaped text, names holding digits) are read by their slots or in full; JSON lines and access logs
    reuse what their parser decoded."""

    __slots__ = ("_access_parts", "_plans", "_recipes", "_sightings", "_structured")

    def __init__(self, fmt: str) -> None:
        self._structured = _STRUCTURED.get(fmt.rpartition("+")[2]) if fmt else None
        # An access log line's parts as its parser matched them: only unwrapped, where the line is the raw text.
        self._access_parts = fmt == "access"
        self._plans: dict[int, list[Any]] = {}
        # digit key of a message's first line -> (template tokens, template id, recipe or None, the
        # template's recipe counts): the miner gives one key one template, so the key alone finds it.
        self._recipes: dict[bytes, tuple[Any, int, _Recipe | None, list[int]]] = {}
        self._sightings: dict[bytes, int] = {}  # messages of a shape without a recipe yet

    def read(self, template_id: int, tokens: Any, message: str, raw: str, secrets: bool) -> tuple[Fields, Units | None]:
        """``tokens``: the template's current tokens (a new object whenever the miner changes it)."""
        if self._structured is not None:
            found = self._structured(raw, secrets)
            if found is not None:
                return found
        return _read_by_plan(self._plan_of(template_id, tokens), message)

    def read_encoded(
        self, tally: FieldTally, template_id: int, tokens: Any, message: str, raw: str, secrets: bool,
        record: Any = None, key: bytes | None = None,
    ) -> str:
        """The stored JSON of one event's fields, counted into ``tally``. ``record``: what the event's parser
        decoded of its line (ParsedHeader.record), so that it is not decoded again; ``key``: the digit key of
        the message's first line when the template miner made it already (TemplateMiner.last_key)."""
        if self._structured is None:
            line = message.partition("\n")[0]
            if key is None:
                key = line.encode("utf-8", "surrogatepass").translate(DIGIT_KEY)
            # The common case first, in as few steps as it takes: a shape with a recipe of the current template.
            entry = self._recipes.get(key)
            if entry is not None and entry[0] is tokens and entry[1] == template_id and (recipe := entry[2]):
                entry[3][0] += 1
                tally.recipes.append(recipe)
                spans = recipe.spans
                return recipe.text % spans(line) if spans is not None else recipe.text
            return self._read_unwritten(tally, template_id, tokens, message, line, key, entry)
        if record is not None:
            if self._structured is _json_fields:
                if not secrets:
                    encoded = _record_encoded(tally, template_id, record)
                    if encoded is not None:
                        return encoded
                fields, units = _record_fields(record, secrets)
                tally.add(template_id, fields, units)
                return encode_fields(fields)
            if self._access_parts:
                return _access_encoded(tally, template_id, record, secrets)
        fields, units = self.read(template_id, tokens, message, raw, secrets)
        tally.add(template_id, fields, units)
        return encode_fields(fields)

    def _read_unwritten(
        self, tally: FieldTally, template_id: int, tokens: Any, message: str, line: str, key: bytes, entry: Any
    ) -> str:
        """read_encoded of a message whose shape has no recipe yet (or one of an older template)."""
        cached = self._plans.get(template_id)
        if cached is None or cached[0] is not tokens:
            cached = self._plan_entry(template_id, tokens)
        plan, recipes_seen = cached[1], cached[2]
        if not plan.slots and not plan.constants:
            return "{}"  # a template without variables has no fields
        if recipes_seen is not None:
            recipes_seen[0] += 1
            if entry is None or entry[0] is not tokens or entry[1] != template_id:
                entry = self._shared_recipe(key, template_id, tokens, cached, line, entry)
            if entry is not None and (recipe := entry[2]) is not None:
                tally.recipes.append(recipe)
                return recipe.text % recipe.spans(line) if recipe.spans is not None else recipe.text
        patterns = cached[4]
        matched = False
        for pattern in patterns:
            found = pattern.match(line)
            if found is not None:
                entry = tally.shapes.get(pattern.shape)
                if entry is None:
                    matched = True
                    break  # the shape's first message in this batch: its example is read in full below
                entry[0] += 1
                if pattern.units is not None:
                    if tally.recipes:
                        tally.fold()  # the last unit seen wins: the recipes' messages came first
                    for name, unit in pattern.units:
                        tally.units[(template_id, name)] = unit
                return pattern.write(found)
        encoded = _read_by_slots(tally, template_id, cached, message)
        if encoded is not None:
            if not matched:
                # A message its template's patterns do not match: its kinds of values may come back. A pattern
                # costs as much as a hundred readings to make, so templates whose messages keep being read by
                # their slots try to make one, ever more rarely.
                cached[5] += 1
                if cached[5] >= cached[6] and len(patterns) < _PATTERN_LIMIT:
                    cached[6] *= 2
                    made = _pattern(template_id, plan, line)
                    if made is not None:
                        patterns.append(made)
            return encoded
        fields, units = _read_by_plan(plan, message)
        tally.add(template_id, fields, units)
        return encode_fields(fields)

    def _plan_of(self, template_id: int, tokens: Any) -> _Plan:
        cached = self._plans.get(template_id)
        if cached is None or cached[0] is not tokens:
            cached = self._plan_entry(template_id, tokens)
        return cached[1]  # type: ignore[no-any-return]

    def _plan_entry(self, template_id: int, tokens: Any) -> list[Any]:
        # [tokens, plan, recipe counts: [messages, recipes made] or None once recipes do not pay off,
        #  what each slot's word gives by its digit key (_read_by_slots), its patterns, messages read by their
        #  slots, and at how many of them it tries to make the next pattern]
        plan = _plan(" ".join(tokens))
        entry = [tokens, plan, [0, 0], [{} for _ in plan.slots], [], 0, _PATTERN_AFTER]
        self._plans[template_id] = entry
        return entry

    def _shared_recipe(
        self, key: bytes, template_id: int, tokens: Any, plan_entry: list[Any], line: str, entry: Any
    ) -> tuple[Any, int, _Recipe | None, list[int]] | None:
        """The recipe entry of a message whose digit key ``key`` has none of its template (``entry``: the key's
        entry of another template, or None): the one of the key that also lets go of the zeros inside numbers,
        which its messages share, or a new one (after _RECIPE_AFTER messages of that key), or None for now. A recipe
        is the same for all messages of a shared key: where their values start and end is where their digits are;
        whether an integer is written as it is depends on its first digit (a leading zero), its length and its
        non-digits, never on a digit after the first (a fraction's trailing zero is looked at per message, by its
        hole's converter); and a name holding a digit that varies under the shared key never makes a recipe."""
        shared_key = zeros_inside_numbers_blind(key)
        if shared_key is not key:
            shared = self._recipes.get(shared_key)
            if shared is not None and shared[0] is tokens and shared[1] == template_id:
                self._remember(key, shared)  # the next message of this very key finds it at once
                return shared
            if entry is None:
                entry = shared
        if entry is None:
            # The first messages of a shape are read by their slots: shapes of a few messages (ids of letters and
            # digits, addresses of varying lengths) are common, and a recipe costs many readings to make.
            seen = self._sightings.get(shared_key, 0)
            if seen < _RECIPE_AFTER:
                if len(self._sightings) >= _RECIPE_LIMIT:
                    self._sightings.clear()
                self._sightings[shared_key] = seen + 1
                return None
            del self._sightings[shared_key]
        entry = self._new_recipe(shared_key, template_id, tokens, plan_entry, line)
        if shared_key is not key:
            self._remember(key, entry)
        return entry

    def _remember(self, key: bytes, entry: tuple[Any, int, _Recipe | None, list[int]]) -> None:
        if len(self._recipes) >= _RECIPE_LIMIT:
            self._recipes.clear()
        self._recipes[key] = entry

    def _new_recipe(
        self, key: bytes, template_id: int, tokens: Any, plan_entry: list[Any], line: str
    ) -> tuple[Any, int, _Recipe | None, list[int]]:
        counts = plan_entry[2]
        counts[1] += 1
        if counts[1] >= _RECIPE_TRIAL and counts[1] * _RECIPE_REUSE > counts[0]:
            # Most messages of this template have a shape of their own (ids of varying letters and
            # lengths): making a recipe costs more than reading them in full, so stop making them.
            plan_entry[2] = None
        elif counts[0] >= 1 << 16:
            counts[0] >>= 1
            counts[1] >>= 1
        # The template's counts travel with the recipe: its messages are counted where it is used.
        recipe = None
        for pattern in plan_entry[4]:
            found = pattern.match(line)
            if found is not None:
                recipe = pattern.recipe(found)  # what _recipe makes of the line, without reading it again
                break
        else:
            recipe = _recipe(template_id, plan_entry[1], line)
        entry = (tokens, template_id, recipe, counts)
        self._remember(key, entry)
        return entry


_WORD_SPAN = re.compile(r"\S+")
_RECIPE_LIMIT = 50_000
# Recipes are kept making for a template while each is used by at least this many messages on average
# (judged after this many recipes).
_RECIPE_REUSE, _RECIPE_TRIAL = 2, 1024
# A shape's recipe is made from its message after this many: the ones before are read by their slots.
_RECIPE_AFTER = 3


_Spans = Callable[[str], tuple[str, ...] | str]


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed as itself: FieldTally counts them
class _Recipe:
    text: str  # the JSON with %s holes ("%" itself doubled)
    # The strings filling the holes, from the message's first line: one string itself when there is one hole
    # (no tuple to build; "%" formats it alone).
    spans: _Spans | None
    shape: tuple[int, tuple[str, ...], tuple[type, ...]]  # FieldTally's key
    example: Fields  # the fields of the message the recipe was made from
    units: Units | None


def _recipe(template_id: int, plan: _Plan, line: str) -> _Recipe | None:
    """The recipe of the messages with ``line``'s digit key, or None when one of its values cannot be
    written from the message's characters alone (then each message is read in full)."""
    words = [(match.start(), match.group()) for match in _WORD_SPAN.finditer(line)]
    if len(words) != plan.width:
        return None
    # name -> the JSON of a constant, or (start, end, how): dict order and overwrites as _read_by_plan's.
    found: dict[str, str | tuple[int, int, Callable[[str], str] | None]] = {}
    units: Units = {}
    example: Fields = {}
    for name, value in plan.constants:
        found[name] = _encode_value(value)
        example[name] = value
    for slot in plan.slots:
        start, word = words[slot.position]
        text = word.strip(_STRIP).rstrip(_STRIP_END)
        start += len(word) - len(word.lstrip(_STRIP))
        name = slot.name
        if slot.prefix:
            if not text.startswith(slot.prefix):
                continue
            text, start = text[len(slot.prefix):], start + len(slot.prefix)
        elif "=" in text:
            key, _, rest = text.partition("=")
            if _KEY.fullmatch(key):
                if VARYING_UNDER_SHARED_KEY.search(key):
                    return None  # the name would change with the digits
                name = field_name(key)
                if _CREDENTIAL_FIELD.search(name) or name in found:
                    continue
                text, start = rest, start + len(key) + 1
        if not text:
            continue
        end = start + len(text)
        if name in _TEXT_NAMES:
            found[name] = (start, min(end, start + _MAX_TEXT), _quoted)
            continue
        if text.count(".") == 3 and (address := _IP_WITH_PORT.fullmatch(text)) is not None:
            found[name] = (start + address.start(1), start + address.end(1), _quoted)
            if address.group(2):
                if not _verbatim_int(address.group(2)):
                    return None
                found[f"{name}_port"] = (start + address.start(2), start + address.end(2), None)
            continue
        if slot.unit_word is None and _verbatim_int(text):
            found[name] = (start, end, None)
            continue
        number = _NUMBER_WITH_UNIT.fullmatch(text)
        if number is None:
            found[name] = (start, min(end, start + _MAX_TEXT), _quoted)
            continue
        if slot.unit_word is None and number.group(2) is None and "." not in text:
            return None  # a signed integer or one with a leading zero: rare, read in full
        if len(text) > 40:
            return None  # far from where float conversions could overflow
        unit = number.group(2) or slot.unit_word
        scale, normal = _UNIT_SCALE[unit.lower()] if unit else (1.0, None)
        digits_end = start + number.end(1)
        if "." not in number.group(1) and scale >= 1 and len(number.group(1)) <= 15:
            found[name] = (start, digits_end, _int_times(int(scale)))
        else:
            found[name] = (start, digits_end, _float_times(scale))
        if normal is not None:
            units[name] = normal
    parts: list[str] = []
    holes: list[tuple[slice, Callable[[str], str] | None]] = []
    for name, how in found.items():
        if isinstance(how, str):
            parts.append(f'"{name}":{how.replace("%", "%%")}')
            example[name] = example.pop(name)  # the order of the JSON
            continue
        start, end, convert = how
        value = line[start:end]
        if convert is _quoted and _ENCODE_TEXT(value) != f'"{value}"':
            return None  # text that needs escaping: rare, read in full
        if convert is _quoted:
            parts.append(f'"{name}":"%s"')
            example.pop(name, None)
            example[name] = value
            convert = None
        else:
            parts.append(f'"{name}":%s')
            example.pop(name, None)
            example[name] = int(value) if convert is None else json.loads(convert(value))
        holes.append((slice(start, end), convert))
    text = "{" + ",".join(parts) + "}"
    spans: _Spans | None
    if not holes:
        spans, text = None, text.replace("%%", "%")
    elif all(convert is None for _, convert in holes):
        spans = itemgetter(*(where for where, _ in holes))
    else:
        spans = _converting(tuple(holes))
    shape = (template_id, tuple(example), tuple(map(type, example.values())))
    return _Recipe(text, spans, shape, example, units or None)


# How a slot's word gives its value (_slot_reading): written as it is (digits, or text that needs no escaping),
# as text, an address with or without a port, or by typed_value; or no field at all; or "read the message in
# full" when the name would change with the digits.
_AS_IS, _TEXT, _ADDRESS, _ADDRESS_PORT, _TYPED, _NONE, _FULL = range(7)
# (how, name, start, stop, port start, port stop, the name came from the word: a "key=" it holds)
_SlotReading = tuple[int, str, int, int, int, int, bool]
_NO_FIELD: _SlotReading = (_NONE, "", 0, 0, 0, 0, False)
_READ_IN_FULL: _SlotReading = (_FULL, "", 0, 0, 0, 0, False)


def _slot_reading(slot: _Slot, word: str) -> _SlotReading:
    """What _read_by_plan makes of ``word`` in ``slot``, as positions in the word: the same for every word
    of the same digit key (digits 1-9 alike), since stripping, prefixes, addresses and the choice of a
    number's type look at where digits are, never at which; values are then read per word."""
    text = word.strip(_STRIP).rstrip(_STRIP_END)
    start = len(word) - len(word.lstrip(_STRIP))
    name, named_by_word = slot.name, False
    if slot.prefix:
        # A slot's readings are kept by each word's own digit key (_read_by_slots), not the shared one.
        if VARYING_UNDER_DIGIT_KEY.search(slot.prefix):
            return _READ_IN_FULL
        if not text.startswith(slot.prefix):
            return _NO_FIELD
        text, start = text[len(slot.prefix):], start + len(slot.prefix)
    elif "=" in text:
        key, _, rest = text.partition("=")
        if _KEY.fullmatch(key):
            if VARYING_UNDER_DIGIT_KEY.search(key):
                return _READ_IN_FULL  # the name would change with the digits
            name, named_by_word = field_name(key), True
            if _CREDENTIAL_FIELD.search(name):
                return _NO_FIELD
            text, start = rest, start + len(key) + 1
    if not text:
        return _NO_FIELD
    if name in _TEXT_NAMES:
        return (_TEXT, name, start, start + min(len(text), _MAX_TEXT), 0, 0, named_by_word)
    if text.count(".") == 3 and (address := _IP_WITH_PORT.fullmatch(text)) is not None:
        if address.group(2):
            return (_ADDRESS_PORT, name, start + address.start(1), start + address.end(1), start + address.start(2),
                    start + address.end(2), True)
        return (_ADDRESS, name, start + address.start(1), start + address.end(1), 0, 0, named_by_word)
    if slot.unit_word is None:
        if _verbatim_int(text):
            return (_AS_IS, name, start, start + len(text), 0, 0, named_by_word)
        if _NUMBER_WITH_UNIT.fullmatch(text) is None:
            return (_TEXT, name, start, start + min(len(text), _MAX_TEXT), 0, 0, named_by_word)
        if text.isdigit() and text.isascii():  # beyond 64 bits, or a leading zero: text as it is
            return (_TEXT, name, start, start + len(text), 0, 0, named_by_word)
    return (_TYPED, name, start, start + len(text), 0, 0, named_by_word)


def _read_by_slots(tally: FieldTally, template_id: int, plan_entry: list[Any], message: str) -> str | None:
    """The stored JSON of a message of a template, from the readings of its slots' words cached by their
    digit keys: a message whose words are all known costs a split and a few dict lookups. None when it must
    be read in full (it does not line up with its template, a name would change with its digits, two values
    would share a name), and the tally is then left to the caller."""
    plan: _Plan = plan_entry[1]
    words = message.partition("\n")[0].split()
    if len(words) != plan.width:
        return None
    names: list[str] = []
    classes: list[type] = []
    parts: list[str] = []
    for name, value in plan.constants:
        names.append(name)
        classes.append(value.__class__)
        parts.append(f'"{name}":{_encode_value(value)}')
    units: list[tuple[str, str]] | None = None
    check_names = False
    for slot, readings in zip(plan.slots, plan_entry[3], strict=True):
        word = words[slot.position]
        key = word.encode("utf-8", "surrogatepass").translate(DIGIT_KEY)
        reading = readings.get(key)
        if reading is None:
            if len(readings) >= 4096:
                readings.clear()
            reading = readings[key] = _slot_reading(slot, word)
        how, name, start, stop = reading[0], reading[1], reading[2], reading[3]
        if how == _AS_IS:
            names.append(name)
            classes.append(int)
            parts.append(f'"{name}":{word[start:stop]}')
        elif how in (_TEXT, _ADDRESS):
            names.append(name)
            classes.append(str)
            parts.append(f'"{name}":{_ENCODE_TEXT(word[start:stop])}')
        elif how == _TYPED:
            value, unit = typed_value(word[start:stop], slot.unit_word)
            names.append(name)
            classes.append(value.__class__)
            parts.append(f'"{name}":{_encode_value(value)}')
            if unit is not None:
                units = units or []
                units.append((name, unit))
        elif how == _ADDRESS_PORT:
            names += (name, f"{name}_port")
            classes += (str, int)
            parts.append(f'"{name}":{_ENCODE_TEXT(word[start:stop])}')
            parts.append(f'"{name}_port":{int.__repr__(int(word[reading[4]:reading[5]]))}')
        elif how == _FULL:
            return None
        else:
            continue
        check_names = check_names or reading[6]
    if not names:
        return "{}"
    if check_names and len(set(names)) != len(names):
        return None  # a name from a "key=" word met another: read in full, which keeps the first or the last
    shape = (template_id, tuple(names), tuple(classes))
    entry = tally.shapes.get(shape)
    if entry is None:
        # A shape new to this batch (unless a recipe has it uncounted): its example is this message's fields,
        # read in full.
        fields, full_units = _read_by_plan(plan, message)
        tally.add(template_id, fields, full_units)
    else:
        _count_again(tally, template_id, entry, units)
    return "{" + ",".join(parts) + "}"


def _count_again(tally: FieldTally, template_id: int, entry: list[Any], units: list[tuple[str, str]] | None) -> None:
    """One more message of a shape the batch has counted: its count, and its units as the last seen."""
    entry[0] += 1
    if units is not None:
        if tally.recipes:
            tally.fold()  # the last unit seen wins: the recipes' messages came first
        for name, unit in units:
            tally.units[(template_id, name)] = unit


# Patterns made per template at most (a pattern is tried on every message of its template that no recipe
# writes), and how many of its messages are read by their slots before it tries to make the first.
_PATTERN_LIMIT, _PATTERN_AFTER = 8, 32
# What a value may be, in a pattern, for every value it matches to be read as the message it was made from
# was read (_slot_reading): the same stripping, the same type, the same JSON needing no escaping.
_VERBATIM_INT = "(0|[1-9][0-9]{0,17})"
_PORT = "(0|[1-9][0-9]{0,4})"
# Numbers with a fraction: short enough for _recipe to write them too (it writes none beyond 40 characters).
_FRACTION = "([0-9]{1,15}\\.[0-9]{1,15})"
_ADDRESS_PATTERN = "([0-9]{1,3}(?:\\.[0-9]{1,3}){3})"
# Text: printable ASCII without quotes, backslashes or "=", neither starting with what strip() removes
# nor ending with what rstrip() removes; a value that is not a user or host name starts with a letter or
# "_" (so that it is no number and no address), at most _MAX_TEXT characters.
_TEXT_INNER = "[!#-<>-\\[\\]-~]"
_TEXT_END = "[!#-&*+\\-/-9?-Z^-z|~]"


def _text_pattern(first: str) -> str:
    return f"({first}(?:{_TEXT_INNER}{{0,{_MAX_TEXT - 3}}}{_TEXT_END})?)"


_TEXT_PATTERN = _text_pattern("[A-Za-z_]")
_NAME_PATTERN = _text_pattern("[0-9A-Za-z_]")


@dataclass(frozen=True, slots=True, eq=False)
class _Pattern:
    """The messages of a template whose values are of the same kinds as one message's (digits, text,
    addresses, numbers with a unit), whatever their lengths and digits: one regex over the first line,
    capturing the values, and the stored JSON with a hole per value. It writes what _read_by_slots writes."""

    match: Callable[[str], re.Match[str] | None]
    text: str  # the JSON with %s holes ("%" itself doubled)
    converters: tuple[Callable[[str], str] | None, ...] | None  # per hole, when a value is converted
    shape: tuple[int, tuple[str, ...], tuple[type, ...]]  # FieldTally's key
    units: tuple[tuple[str, str], ...] | None
    constants: tuple[tuple[str, FieldValue], ...]  # the plan's, first in the JSON

    def write(self, found: re.Match[str]) -> str:
        values = found.groups()
        converters = self.converters
        if converters is not None:
            values = tuple(
                value if convert is None else convert(value) for value, convert in zip(values, converters, strict=True)
            )
        return self.text % values

    def recipe(self, found: re.Match[str]) -> _Recipe:
        """The recipe of the messages with the digit key of the line ``found`` matched: the values stand where
        they stand in that line."""
        converters = self.converters or (None,) * len(found.groups())
        holes = tuple((slice(*found.span(group)), convert) for group, convert in enumerate(converters, start=1))
        example: Fields = dict(self.constants)
        _, names, classes = self.shape
        first = len(self.constants)
        for name, value_class, value, convert in zip(
            names[first:], classes[first:], found.groups(), converters, strict=True
        ):
            example[name] = value if value_class is str else value_class(value if convert is None else convert(value))
        spans: _Spans | None
        text = self.text
        if not holes:
            spans, text = None, text.replace("%%", "%")
        elif converters.count(None) == len(converters):
            spans = itemgetter(*(where for where, _ in holes))
        else:
            spans = _converting(holes)
        return _Recipe(text, spans, self.shape, example, dict(self.units) if self.units else None)


def _pattern(template_id: int, plan: _Plan, line: str) -> _Pattern | None:
    """The pattern of the messages of ``line``'s kinds of values under ``plan``, or None when one of its values
    could not be written so (a signed or zero-led number, text that JSON escapes, a name from a key)."""
    words = [(match.start(), match.group()) for match in _WORD_SPAN.finditer(line)]
    if len(words) != plan.width:
        return None
    by_position = {slot.position: slot for slot in plan.slots}
    regex: list[str] = []
    names: list[str] = []
    classes: list[type] = []
    parts: list[str] = []
    converters: list[Callable[[str], str] | None] = []
    units: list[tuple[str, str]] = []
    for name, value in plan.constants:
        names.append(name)
        classes.append(value.__class__)
        parts.append(f'"{name}":{_encode_value(value)}'.replace("%", "%%"))
    cursor = 0
    for position, (start, word) in enumerate(words):
        regex.append(re.escape(line[cursor:start]))
        cursor = start + len(word)
        slot = by_position.get(position)
        if slot is None:
            regex.append(re.escape(word))
            continue
        how, name, begin, stop, port_begin, port_stop, _ = _slot_reading(slot, word)
        if how == _NONE:
            regex.append(re.escape(word))
            continue
        if how == _FULL or stop - begin >= _MAX_TEXT:
            return None
        value = word[begin:stop]
        if how == _AS_IS:
            value_pattern, value_class = _VERBATIM_INT, int
            parts.append(f'"{name}":%s')
            converters.append(None)
        elif how in (_TEXT, _ADDRESS):
            if how == _ADDRESS:
                value_pattern = _ADDRESS_PATTERN
            else:
                value_pattern = _NAME_PATTERN if name in _TEXT_NAMES else _TEXT_PATTERN
            if re.fullmatch(value_pattern, value) is None:
                return None
            value_class = str
            parts.append(f'"{name}":"%s"')
            converters.append(None)
        elif how == _ADDRESS_PORT:
            if re.fullmatch(_PORT, word[port_begin:port_stop]) is None:
                return None
            regex.append(
                re.escape(word[:begin])
                + _ADDRESS_PATTERN
                + re.escape(word[stop:port_begin])
                + _PORT
                + re.escape(word[port_stop:])
            )
            names += (name, f"{name}_port")
            classes += (str, int)
            parts += (f'"{name}":"%s"', f'"{name}_port":%s')
            converters += (None, None)
            continue
        else:  # _TYPED
            typed = _typed_pattern(value, slot.unit_word)
            if typed is None:
                return None
            value_pattern, unit_text, convert, value_class, unit = typed
            stop -= len(unit_text)  # a unit written with the number stays in the word, as it is
            parts.append(f'"{name}":%s')
            converters.append(convert)
            if unit is not None:
                units.append((name, unit))
        if not (value_class is str or re.fullmatch(value_pattern, word[begin:stop])):
            return None
        regex.append(re.escape(word[:begin]) + value_pattern + re.escape(word[stop:]))
        names.append(name)
        classes.append(value_class)
    regex.append(re.escape(line[cursor:]))
    if len(set(names)) != len(names):
        return None
    compiled = re.compile("".join(regex), re.ASCII | re.DOTALL)
    if compiled.fullmatch(line) is None:
        return None
    return _Pattern(
        compiled.fullmatch,
        "{" + ",".join(parts) + "}",
        tuple(converters) if any(converters) else None,
        (template_id, tuple(names), tuple(classes)),
        tuple(units) or None,
        plan.constants,
    )


def _typed_pattern(text: str, unit_word: str | None) -> tuple[str, str, Callable[[str], str], type, str | None] | None:
    """(value regex, the unit glued to the number, how a value is written, its class, its unit) of a number read by
    typed_value, or None for one a pattern does not write (signed, or text)."""
    number = _NUMBER_WITH_UNIT.fullmatch(text)
    if number is None or text[0] in "+-":
        return None
    digits, glued = number.group(1), number.group(2) or ""
    unit = glued or unit_word
    if unit is None:
        if "." not in digits:
            return None
        return _FRACTION, glued, _float_times(1.0), float, None
    scale, normal = _UNIT_SCALE[unit.lower()]
    if "." not in digits and scale >= 1:
        return "([0-9]{1,15})", glued, _int_times(int(scale)), int, normal
    if "." in digits:
        return _FRACTION, glued, _float_times(scale), float, normal
    return "([0-9]{1,15})", glued, _float_times(scale), float, normal


def _quoted(text: str) -> str:
    return f'"{text}"'


@lru_cache(maxsize=64)
def _int_times(scale: int) -> Callable[[str], str]:
    return _remembered(lambda text: int.__repr__(int(text) * scale))


@lru_cache(maxsize=64)
def _float_times(scale: float) -> Callable[[str], str]:
    converted = _remembered(lambda text: float.__repr__(float(text) * scale))
    return converted if scale != 1.0 else partial(_float_as_written, converted)


def _float_as_written(convert: Callable[[str], str], text: str) -> str:
    """``text`` itself when it is the JSON (the repr) of its float, else ``convert(text)``: a kernel's uptime or a
    duration in seconds is mostly written so, and a different value on every line, which no remembering helps.
    Plain digits around one dot are their float's repr when the integer part has no leading zero, the fraction
    no trailing zero (but "5.0"), there are at most 15 digits (every such decimal is the shortest that gives its
    float) and the value is not below 0.0001 (then repr writes an exponent)."""
    if (len(text) <= 16 and text.isascii() and text.replace(".", "", 1).isdigit() and "." in text[1:-1]
            and (text[-1] != "0" or text[-2] == ".")
            and (text[0] != "0" or (text[1] == "." and not text.startswith("0.0000")))):
        return text
    return convert(text)


def _remembered(convert: Callable[[str], str]) -> Callable[[str], str]:
    """``convert``, remembering what it wrote of each text: the same few hundred durations and sizes come back
    line after line, and writing a float costs ten dict lookups."""
    written: dict[str, str] = {}

    def remembered(text: str) -> str:
        found = written.get(text)
        if found is None:
            if len(written) >= 4096:
                written.clear()
            found = written[text] = convert(text)
        return found

    return remembered


def _converting(holes: tuple[tuple[slice, Callable[[str], str] | None], ...]) -> _Spans:
    # One reader per hole, and for the usual one to three holes no loop: this runs once per message.
    readers = [itemgetter(where) if convert is None else _converted(where, convert) for where, convert in holes]
    if len(readers) == 1:
        return readers[0]  # type: ignore[no-any-return]
    if len(readers) == 2:
        first, second = readers
        return lambda line: (first(line), second(line))
    if len(readers) == 3:
        first, second, third = readers
        return lambda line: (first(line), second(line), third(line))
    return lambda line: tuple([read(line) for read in readers])


def _converted(where: slice, convert: Callable[[str], str]) -> Callable[[str], str]:
    return lambda line: convert(line[where])


def _verbatim_int(text: str) -> bool:
    """Digits whose integer is written exactly so in JSON (no sign, no leading zero, within 64 bits)."""
    return text.isdigit() and text.isascii() and len(text) <= 18 and (text[0] != "0" or len(text) == 1)


def _read_by_plan(plan: _Plan, message: str) -> tuple[Fields, Units | None]:
    line = message.partition("\n")[0]
    words = line.split()
    if len(words) != plan.width:
        return _loose_fields(line), None
    fields: Fields = dict(plan.constants) if plan.constants else {}
    units: Units | None = None
    for slot in plan.slots:
        text = words[slot.position].strip(_STRIP).rstrip(_STRIP_END)
        name = slot.name
        if slot.prefix:
            if not text.startswith(slot.prefix):
                continue
            text = text[len(slot.prefix):]
        elif "=" in text:
            # A slot the miner generalised over whole "key=value" tokens: the key names this value.
            key, _, rest = text.partition("=")
            if _KEY.fullmatch(key):
                name = field_name(key)
                if _CREDENTIAL_FIELD.search(name) or name in fields:
                    continue
                text = rest
        if not text:
            continue
        unit = _put(fields, name, text, slot.unit_word)
        if unit is not None:
            if units is None:
                units = {}
            units[name] = unit
    return fields, units


def _put(fields: Fields, name: str, text: str, unit_word: str | None = None) -> str | None:
    if name in _TEXT_NAMES:
        fields[name] = text[:_MAX_TEXT]
        return None
    if text.count(".") == 3:
        address = _IP_WITH_PORT.fullmatch(text)
        if address is not None:
            fields[name] = address.group(1)
            if address.group(2):
                fields[f"{name}_port"] = int(address.group(2))
            return None
    value, unit = typed_value(text, unit_word)
    fields[name] = value
    return unit


def _loose_fields(line: str) -> Fields:
    """Fields of a message that does not line up with its template: pairs, addresses, ports, users."""
    fields: Fields = {}
    for key, value in _PAIR.findall(line):
        name = field_name(key)
        if name not in fields and not _CREDENTIAL_FIELD.search(name):
            _put(fields, name, _unquote(value).strip(_STRIP) or '""')
    for address, word, value in _LOOSE.findall(line):
        if address:
            fields.setdefault("ip", address)
        elif word not in fields and (value := value.strip(_STRIP)):
            _put(fields, word, value)
    return fields


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _pairs_fields(pairs: Any, masked: bool) -> tuple[Fields, Units | None]:
    fields: Fields = {}
    units: Units | None = None
    for key, value in pairs:
        if len(fields) >= _MAX_FIELDS:
            break
        name = _PAIR_NAMES.get(key, _UNSEEN)
        if name is _UNSEEN:
            name = _pair_name(key)
        if name is None or name in fields:
            continue
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
            continue
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):  # NaN and Infinity have no place in JSON
                continue
            fields[name] = value
            continue
        if not isinstance(value, str) or not value:
            continue
        if masked:
            value = mask_secrets(value)
        unit = _put(fields, name, value[:_MAX_TEXT])
        if unit is not None:
            units = units or {}
            units[name] = unit
    return fields, units


_UNSEEN = ""  # not a field name (field_name never returns "")
# The field name of each key of JSON, logfmt and access log pairs seen (None: a header key or a
# credential): the same few keys come back on every line.
_PAIR_NAMES: dict[str, str | None] = {}


def _pair_name(key: str) -> str | None:
    name = None if key in _HEADER_KEYS else field_name(key)
    if name is not None and _CREDENTIAL_FIELD.search(name):
        name = None
    if len(_PAIR_NAMES) >= 4096:
        _PAIR_NAMES.clear()
    _PAIR_NAMES[key] = name
    return name


def _record_fields(record: dict[str, Any], masked: bool) -> tuple[Fields, Units | None]:
    """_pairs_fields(_flatten(record)), without the list of pairs when nothing is nested."""
    for value in record.values():
        if isinstance(value, dict):
            return _pairs_fields(_flatten(record), masked)
    return _pairs_fields(record.items(), masked)  # None and lists are left out there as by _flatten


def _record_encoded(tally: FieldTally, template_id: int, record: dict[str, Any]) -> str | None:
    """The stored JSON of a flat JSON record without secrets whose values are numbers, booleans and text read as
    one field each, counted into ``tally`` when the batch has counted its shape already; None for any other
    (then read by _record_fields). The names of a record's keys are looked up once per set of keys, and what
    each text value gives once per text."""
    keys = tuple(record)
    named = _RECORD_NAMES.get(keys)
    if named is None:
        named = _record_names(keys)
    if not named:
        return None  # more keys than fields are kept: read in full
    names: list[str] = []
    classes: list[type] = []
    parts: list[str] = []
    units: list[tuple[str, str]] | None = None
    for key, name in named:
        value = record[key]
        kind = value.__class__
        if kind is int:
            names.append(name)
            classes.append(int)
            parts.append(f'"{name}":{int.__repr__(value)}')
        elif kind is str:
            reading = _TEXT_READINGS.get((name, value))
            if reading is None:
                reading = _text_reading(name, value)
            if reading[0] is None:
                return None  # empty, or read as more than one field
            names.append(name)
            classes.append(reading[0])
            parts.append(reading[1])
            if reading[2] is not None:
                units = units or []
                units.append((name, reading[2]))
        elif kind is bool:
            names.append(name)
            classes.append(str)
            parts.append(f'"{name}":"true"' if value else f'"{name}":"false"')
        elif kind is float and math.isfinite(value):
            names.append(name)
            classes.append(float)
            parts.append(f'"{name}":{float.__repr__(value)}')
        else:
            return None  # nested, a list, null, or not finite: read in full
    if not names:
        return None
    if tally.recipes:
        tally.fold()
    entry = tally.shapes.get((template_id, tuple(names), tuple(classes)))
    if entry is None:
        return None  # the shape's first record in this batch: its fields, read in full, are the example
    _count_again(tally, template_id, entry, units)
    return "{" + ",".join(parts) + "}"


# The keys of JSON records -> ((key, field name), ...) of those that become fields (none when the record has more
# keys than a record keeps fields, or two keys share a name); and what a text value gives under a name.
_RECORD_NAMES: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
_TEXT_READINGS: dict[tuple[str, str], tuple[type | None, str, str | None]] = {}


def _record_names(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    named: list[tuple[str, str]] = []
    for key in keys:
        name = _PAIR_NAMES.get(key, _UNSEEN)
        if name is _UNSEEN:
            name = _pair_name(key)
        if name is not None:
            named.append((key, name))
    names = [name for _, name in named]
    if len(named) > _MAX_FIELDS or len(set(names)) != len(names):
        named = []
    if len(_RECORD_NAMES) >= 4096:
        _RECORD_NAMES.clear()
    found = _RECORD_NAMES[keys] = tuple(named)
    return found


def _text_reading(name: str, value: str) -> tuple[type | None, str, str | None]:
    """(class, JSON, unit) of the one field the text ``value`` of a JSON record gives under ``name``
    (_pairs_fields); class None when it gives none or more than one."""
    fields: Fields = {}
    unit = _put(fields, name, value[:_MAX_TEXT]) if value else None
    if len(fields) != 1:
        reading: tuple[type | None, str, str | None] = (None, "", None)
    else:
        typed = fields[name]
        reading = (typed.__class__, f'"{name}":{_encode_value(typed)}', unit)
    if len(_TEXT_READINGS) >= 8192:
        _TEXT_READINGS.clear()
    _TEXT_READINGS[(name, value)] = reading
    return reading


def _flatten(record: dict[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, dict):
            if depth < 3:
                pairs.extend(_flatten(value, f"{prefix}{key}.", depth + 1))
        elif not isinstance(value, list) and value is not None:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def _logfmt_fields(raw: str, secrets: bool) -> tuple[Fields, Units | None] | None:
    pairs = [(key, _unquote(value)) for key, value in _PAIR.findall(raw)]
    return _pairs_fields(pairs, secrets) if pairs else None


def _access_fields(raw: str, masked: bool) -> tuple[Fields, Units | None] | None:
    match = _ACCESS.match(raw)
    if match is None:
        return None
    return _access_parts_fields(*match.groups(), masked)


def _access_parts_fields(
    client: str, user: str, request: str, status: str, size: str, referer: str | None, agent: str | None, rest: str,
    masked: bool,
) -> tuple[Fields, Units | None]:
    fields: Fields = {}
    _put(fields, "client", client)
    if user != "-":
        fields["user"] = user
    parts = request.split(" ")
    if len(parts) == 3:
        fields["method"] = parts[0]
        target = mask_secrets(parts[1]) if masked else parts[1]
        fields["path"] = target.partition("?")[0][:_MAX_TEXT]
        fields["protocol"] = parts[2]
    fields["status"] = int(status)
    units: Units = {}
    if size != "-":
        fields["bytes"] = int(size)
        units["bytes"] = BYTES
    if referer and referer != "-":
        fields["referer"] = (mask_secrets(referer) if masked else referer)[:_MAX_TEXT]
    if agent and agent != "-":
        fields["user_agent"] = agent[:_MAX_TEXT]
    for key, value in _PAIR.findall(rest):
        name = field_name(key)
        if name not in fields and not _CREDENTIAL_FIELD.search(name):
            unit = _put(fields, name, _unquote(value) or '""')
            if unit is not None:
                units[name] = unit
    tail = rest.split()
    # nginx's $request_time (seconds, with a fraction) is commonly appended after the user agent.
    if tail and "=" not in tail[-1] and re.fullmatch(r"\d+\.\d+", tail[-1]):
        fields["duration"] = float(tail[-1])
        units["duration"] = SECONDS
    return fields, units


# What follows the size in _ACCESS, read from the rest of a line the access log parser has split already.
_ACCESS_TAIL = re.compile(r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)')
# Field names and value classes of the common access log line, by which of user, size, referer and
# user agent it has: FieldTally's key without building the fields.
def _access_shape(flags: tuple[bool, ...]) -> tuple[tuple[str, ...], tuple[type, ...]]:
    has_user, has_bytes, has_referer, has_agent = flags
    names = ("client", *("user",) * has_user, "method", "path", "protocol", "status", *("bytes",) * has_bytes,
             *("referer",) * has_referer, *("user_agent",) * has_agent)
    return names, tuple(int if name in ("status", "bytes") else str for name in names)


_ACCESS_SHAPES = {flags: _access_shape(flags) for flags in itertools.product((False, True), repeat=4)}


def _access_encoded(tally: FieldTally, template_id: int, parts: tuple[str, ...], masked: bool) -> str:
    """The stored JSON of an access log line from the parts its parser matched (AccessLogParser's record).
    The common line (an IPv4 client, a three-part request, nothing after the user agent, no text that
    JSON escapes) is written straight from them; any other reads as _access_fields does."""
    client, user, request, status, size, rest = parts
    tail = _ACCESS_TAILS.get(rest)
    if tail is None:
        tail = _access_tail(rest)
    request_parts = request.split(" ")
    # A client with three dots, no "/" and no ":" is stored as written (_put: an address, or a text that is no
    # number), which these plain tests tell for less than matching an address costs; the tail was looked at once.
    text = f"{client}{user}{request}"
    if (masked or not tail[3] or len(request_parts) != 3 or client.count(".") != 3 or "/" in client
            or ":" in client or len(client) > _MAX_TEXT or '"' in text or "\\" in text or not text.isprintable()):
        referer, agent, rest = tail[0], tail[1], tail[2]
        fields, units = _access_parts_fields(client, user, request, status, size, referer, agent, rest, masked)
        tally.add(template_id, fields, units)
        return encode_fields(fields)
    method, target, protocol = request_parts
    path = target.partition("?")[0][:_MAX_TEXT]
    has_user, has_bytes = user != "-", size != "-"
    # The tally's entry of the line's shape, found by flags: a tuple of the shape's names and classes costs
    # its hash again on every lookup.
    flags = (template_id, has_user, has_bytes, tail[5], tail[6])
    entry = tally.access_shapes.get(flags)
    if entry is not None:
        entry[0] += 1  # the shape's units (bytes) are counted already
    else:
        _count_access_shape(tally, flags, client, user, request, status, size, tail)
    # A number in ASCII digits without a leading zero is its own JSON: converted (which cost an eighth of
    # reading an access line's fields) only when written otherwise. _verbatim_int's test, written out: two calls
    # of it per line would cost a good part of what not converting saves.
    status_json = status if status.isascii() and status[0] != "0" else int(status)
    if not has_bytes:
        size_json = ""
    elif size.isascii() and (size[0] != "0" or len(size) == 1):
        size_json = f',"bytes":{size}'
    else:
        size_json = f',"bytes":{int(size)}'
    user_json = f',"user":"{user}"' if has_user else ""
    return (f'{{"client":"{client}"{user_json},"method":"{method}","path":"{path}","protocol":"{protocol}",'
            f'"status":{status_json}{size_json}{tail[4]}}}')


def _count_access_shape(
    tally: FieldTally, flags: tuple[int, bool, bool, bool, bool], client: str, user: str, request: str, status: str,
    size: str, tail: _AccessTail,
) -> None:
    """Count a common access line whose shape ``flags`` (template id, and whether it has a user, a size, a
    referer, a user agent) the tally has no entry for by flags yet, and remember the entry."""
    template_id = flags[0]
    shape = (template_id, *_ACCESS_SHAPES[flags[1:]])
    entry = tally.shapes.get(shape)
    if entry is not None:
        entry[0] += 1
    else:
        tally.add(template_id, *_access_parts_fields(client, user, request, status, size, tail[0], tail[1], "", False))
        entry = tally.shapes.get(shape)
    if entry is not None:
        tally.access_shapes[flags] = entry


# What follows the size of access log lines, read once per distinct text (the same referers and user agents
# come back line after line): (referer, user agent, what follows them, whether a line with it can be written
# from its parts, their JSON, whether there is a referer, whether there is a user agent).
_AccessTail = tuple[str | None, str | None, str, bool, str, bool, bool]
_ACCESS_TAILS: dict[str, _AccessTail] = {}


def _access_tail(rest: str) -> _AccessTail:
    referer = agent = None
    after = rest
    if rest:
        referer, agent, after = _ACCESS_TAIL.match(rest).groups()  # type: ignore[union-attr]  # (.*) always matches
    text = f"{referer or ''}{agent or ''}"
    writable = not after and '"' not in text and "\\" not in text and text.isprintable()
    has_referer, has_agent = bool(referer) and referer != "-", bool(agent) and agent != "-"
    written = "".join((
        f',"referer":"{referer[:_MAX_TEXT]}"' if has_referer else "",  # type: ignore[index]
        f',"user_agent":"{agent[:_MAX_TEXT]}"' if has_agent else "",  # type: ignore[index]
    ))
    if len(_ACCESS_TAILS) >= 4096:
        _ACCESS_TAILS.clear()
    tail = _ACCESS_TAILS[rest] = (referer, agent, after, writable, written, has_referer, has_agent)
    return tail


_STRUCTURED: dict[str, Callable[[str, bool], tuple[Fields, Units | None] | None]] = {
    "json": _json_fields,
    "logfmt": _logfmt_fields,
    "access": _access_fields,
}


class FieldTally:
    """Which fields the events of each template carry, how many, with a unit and an example: the rows of
    the store's template_fields, gathered cheaply (one dict update per event, keyed by the field names;
    a message written by a recipe only appends the recipe, and those are counted together later)."""

    __slots__ = ("_keys", "access_shapes", "recipes", "shapes", "units")

    def __init__(self) -> None:
        # (template_id, field names, value classes) -> [events, the fields of the first of them]
        self.shapes: dict[tuple[int, tuple[str, ...], tuple[type, ...]], list[Any]] = {}
        self.units: dict[tuple[int, str], str] = {}
        self.recipes: list[_Recipe] = []  # the recipe of each message written by one, not counted yet
        self._keys: dict[int, list[Any]] = {}  # template_id -> its keys of shapes, so that forget() is cheap
        # The entries of shapes of common access lines by their flags (_access_encoded): emptied whenever an
        # entry of shapes is dropped or replaced.
        self.access_shapes: dict[tuple[int, bool, bool, bool, bool], list[Any]] = {}

    def __getstate__(self) -> tuple[Any, Any]:
        self.fold()  # recipes hold functions: what crosses into another process is their count
        return self.shapes, self.units

    def __setstate__(self, state: tuple[Any, Any]) -> None:
        self.shapes, self.units = state
        self.recipes = []
        self._keys = {}
        self.access_shapes = {}
        for key in self.shapes:
            self._keys.setdefault(key[0], []).append(key)

    def fold(self) -> None:
        """Count the messages written by recipes, as add() would have counted each in its turn: done before
        anything else reads or changes the tally, so first examples and last units stay in event order."""
        pending = self.recipes
        if not pending:
            return
        shapes = self.shapes
        with_units = False
        # In the order each recipe was first used; a few are counted without building a Counter.
        counted = Counter(pending).items() if len(pending) > 8 else [(recipe, 1) for recipe in pending]
        for recipe, events in counted:
            entry = shapes.get(recipe.shape)
            if entry is None:
                shapes[recipe.shape] = [events, recipe.example]
                self._keys.setdefault(recipe.shape[0], []).append(recipe.shape)
            else:
                entry[0] += events
            with_units = with_units or recipe.units is not None
        if with_units:
            # The unit of a field is the last one seen: recipes in the order each was last used.
            for recipe in reversed(dict.fromkeys(reversed(pending))):
                if recipe.units:
                    for name, unit in recipe.units.items():
                        self.units[(recipe.shape[0], name)] = unit
        pending.clear()

    def forget(self, template_id: int) -> None:
        """Drop what was counted of the events of ``template_id`` (they are counted again)."""
        if self.recipes:
            self.fold()
        self.access_shapes.clear()
        for key in self._keys.pop(template_id, ()):
            del self.shapes[key]
            for name in key[1]:
                self.units.pop((template_id, name), None)

    def add_earlier(self, earlier: FieldTally) -> None:
        """Count the events ``earlier`` counted as events that came before those counted here, template by
        template: what counting all of them in one tally, in their order, gives."""
        self.fold()
        earlier.fold()
        shapes = self.shapes
        self.access_shapes.clear()  # the entries of these templates are replaced
        for template_id, keys in earlier._keys.items():
            later = [(key, shapes.pop(key)) for key in self._keys.pop(template_id, ())]
            merged = list(keys)
            for key in keys:
                shapes[key] = list(earlier.shapes[key])
            for key, (count, example) in later:
                entry = shapes.get(key)
                if entry is None:
                    shapes[key] = [count, example]
                    merged.append(key)
                else:
                    entry[0] += count
            self._keys[template_id] = merged
        for key, unit in earlier.units.items():
            self.units.setdefault(key, unit)  # the last unit seen wins: a later one stays

    def add_later(self, later: FieldTally, template_ids: set[int]) -> None:
        """Count what ``later`` counted of the events of ``template_ids`` as events that came after those
        counted here: what counting all of them in one tally, in their order, gives."""
        self.fold()
        later.fold()
        shapes = self.shapes
        for key, (count, example) in later.shapes.items():
            if key[0] in template_ids:
                entry = shapes.get(key)
                if entry is None:
                    shapes[key] = [count, example]
                    self._keys.setdefault(key[0], []).append(key)
                else:
                    entry[0] += count
        for key, unit in later.units.items():
            if key[0] in template_ids:
                self.units[key] = unit  # the last unit seen wins

    def add(self, template_id: int, fields: Fields, units: Units | None) -> None:
        if self.recipes:
            self.fold()
        if not fields:
            return
        key = (template_id, tuple(fields), tuple(map(type, fields.values())))
        entry = self.shapes.get(key)
        if entry is None:
            self.shapes[key] = [1, fields]
            self._keys.setdefault(template_id, []).append(key)
        else:
            entry[0] += 1
        if units:
            for name, unit in units.items():
                self.units[(template_id, name)] = unit

    def rows(self) -> list[tuple[int, str, str, str, str | None, int, str]]:
        """(template_id, name, type, kind, unit, events, example), one per field of a template."""
        self.fold()
        folded: dict[tuple[int, str], list[Any]] = {}
        for (template_id, names, _), (count, example) in self.shapes.items():
            for name in names:
                value = example[name]
                entry = folded.get((template_id, name))
                if entry is None:
                    folded[(template_id, name)] = [type_of(value), count, value]
                else:
                    entry[0] = widest_type(entry[0], type_of(value))
                    entry[1] += count
        return [
            (template_id, name, value_type, kind_of(name, value_type), self.units.get((template_id, name)),
             count, str(example)[:_MAX_TEXT])
            for (template_id, name), (value_type, count, example) in sorted(folded.items())
        ]


_ENCODE_TEXT = json.encoder.encode_basestring  # the C encoder of JSON strings


def _encode_value(value: FieldValue) -> str:
    kind = value.__class__
    if kind is str:
        return _ENCODE_TEXT(value)  # type: ignore[no-any-return]
    if kind is int:
        return int.__repr__(value)  # type: ignore[arg-type]
    return float.__repr__(value)  # type: ignore[arg-type]


def encode_fields(fields: Fields) -> str:
    """The stored form: a JSON object ("{}" for an event without fields, so it is not read again).
    Written by hand because json.dumps costs more than the rest of reading the fields; names are
    [a-z0-9_] (field_name), so only values need escaping, and numbers are finite."""
    if not fields:
        return "{}"
    parts = []
    for name, value in fields.items():
        kind = value.__class__
        if kind is str:
            parts.append(f'"{name}":{_ENCODE_TEXT(value)}')  # type: ignore[arg-type]
        elif kind is int:
            parts.append(f'"{name}":{int.__repr__(value)}')  # type: ignore[arg-type]
        else:
            parts.append(f'"{name}":{float.__repr__(value)}')  # type: ignore[arg-type]
    return "{" + ",".join(parts) + "}"


# --- coarse variables for `ask` ------------------------------------------------------------


def variable_reader(template: str, name: str, sample: str) -> Callable[[str], str | None]:
    """A fast reader of one variable: the template token and placeholder where ``sample`` has it."""
    plan = _template_plan(template) if template else None
    width = len(template.split())
    if plan is not None:
        words = sample.split("\n", 1)[0].split()
        if len(words) == width:
            for position, pattern, labels in plan:
                match = pattern.match(words[position])
                if match is None:
                    continue
                for group, (label, value) in enumerate(zip(labels, match.groups(), strict=True), start=1):
                    if any(found == name for found, _ in _normalise_value(label, value.strip("[](),;'\""))):

                        def read(message: str, position: int = position, pattern: re.Pattern[str] = pattern,
                                 group: int = group, label: str = label) -> str | None:
                            words = message.split("\n", 1)[0].split()
                            if len(words) != width:
                                return None
                            match = pattern.match(words[position])
                            if match is None:
                                return None
                            for found, value in _normalise_value(label, match.group(group).strip("[](),;'\"")):
                                if found == name:
                                    return value
                            return None

                        return read

    def slow(message: str) -> str | None:
        return next((value for found, value in extract_variables(template, message) if found == name), None)

    return slow



_IP_RX = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IP_PORT_RX = re.compile(r"/?(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?")
_NUMBER_RX = re.compile(r"[-+]?\d+(?:\.\d+)?")
_PLACEHOLDER_RX = re.compile(r"<(?:\*|[A-Z]+)>")
_KEY_LABELS = {"rhost": "ip", "ruser": "user", "user": "user", "logname": "user", "username": "user",
               "uid": "uid", "euid": "uid", "src": "ip", "dest": "ip", "client": "ip", "ip": "ip",
               "port": "port"}  # fmt: skip
_WORD_LABELS = {"port": "port", "user": "user", "users": "user", "from": "ip", "to": "ip", "by": "user",
                "for": "user", "host": "host", "size": "size", "block": "block"}  # fmt: skip
_TYPE_LABELS = {"IP": "ip", "NUM": "number", "HEX": "hex", "ID": "id", "UUID": "uuid", "PATH": "path"}


@lru_cache(maxsize=4096)
def _template_plan(template: str) -> tuple[tuple[int, re.Pattern[str], tuple[str, ...]], ...] | None:
    """For each template token holding placeholders: its position, a regex capturing the values, and
    a label per placeholder."""
    tokens = template.split()
    if not tokens:
        return None
    plan = []
    for position, token in enumerate(tokens):
        holes = list(_PLACEHOLDER_RX.finditer(token))
        if not holes:
            continue
        parts: list[str] = []
        labels: list[str] = []
        cursor = 0
        for hole in holes:
            literal = token[cursor : hole.start()]
            parts.append(re.escape(literal))
            parts.append("(.+?)")
            if labels and not any(char.isalpha() for char in literal):
                labels.append(labels[-1])  # rdd_<NUM>_<NUM>: both parts belong to "rdd"
            else:
                labels.append(_label_for(tokens, position, literal, hole.group(0)))
            cursor = hole.end()
        parts.append(re.escape(token[cursor:]))
        plan.append((position, re.compile("".join(parts) + r"\Z", re.S), tuple(labels)))
    return tuple(plan)


def _label_for(tokens: list[str], position: int, literal: str, placeholder: str) -> str:
    key = literal.rstrip("=:_-").lower().lstrip("(/[")
    if literal.endswith(("=", ":", "_", "-")) and key.replace("_", "").replace("-", "").isalpha():
        return _KEY_LABELS.get(key, key[:24])
    kind = placeholder[1:-1]
    if kind == "IP":
        return "ip"
    previous = tokens[position - 1].lower().strip(":,;()[]") if position > 0 else ""
    if previous and not _PLACEHOLDER_RX.search(previous) and previous.isalpha():
        return _WORD_LABELS.get(previous, previous[:24])
    return _TYPE_LABELS.get(kind, "value")


@lru_cache(maxsize=4096)
def variable_labels_of_fields(template: str) -> dict[str, str] | None:
    """How the named fields stored for an event of ``template`` line up with :func:`extract_variables`: for each
    field name, the label under which that reads the same template token (its value then goes through
    :func:`variables_of_field`), or "" for a field it never shows (a value of the template's fixed words).
    None when the two readings do not line up token for token: a token holding two values, a unit written
    as the next word, a variable that is no field (named like a credential)."""
    plan = _plan(template) if template else None
    holes = _template_plan(template) if template else None
    if plan is None or holes is None:
        return None
    labels_at = {position: labels for position, _, labels in holes}
    slot_positions = {slot.position for slot in plan.slots}
    if any(position not in slot_positions for position in labels_at):
        return None
    found = {name: "" for name, _ in plan.constants}
    for slot in plan.slots:
        labels = labels_at.get(slot.position)
        if labels is not None and (len(labels) != 1 or slot.unit_word is not None):
            return None
        found[slot.name] = labels[0] if labels is not None else ""
    for slot in plan.slots:
        # "from 10.0.0.1:4242" is stored as `from` and `from_port`; extract_variables calls the second "port".
        found.setdefault(f"{slot.name}_port", "port" if found[slot.name] else "")
    generalised = [slot for slot in plan.slots if not slot.prefix and found[slot.name] == "value"]
    if len(generalised) == 1:
        # A token the miner generalised over whole "key=value" tokens ("user=root", "user=git") stores its value
        # under the key, which names the variable too: any other field comes from there.
        found[KEYED] = "value"
    return found


# Not a field name (field_name never returns ""): in variable_labels_of_fields, the label of the fields that a
# token generalised over whole "key=value" tokens stores under their own key.
KEYED = ""


def variables_of_field(labels: dict[str, str], name: str, value: str) -> list[tuple[str, str]] | None:
    """(name, value) pairs :func:`extract_variables` reads from the template token that the field ``name`` holding
    ``value`` was stored from; ``labels`` from :func:`variable_labels_of_fields`. None for a field of no token."""
    label = labels.get(name)
    if label is not None:
        return _normalise_value(label, value) if label else []
    if KEYED in labels:
        return _normalise_value(labels[KEYED], f"{name}={value}")
    return None


def extract_variables(template: str, message: str) -> list[tuple[str, str]]:
    """(name, value) of each variable of ``message`` under ``template``, e.g. ("ip", "10.0.0.1")."""
    first_line = message.split("\n", 1)[0]
    plan = _template_plan(template) if template else None
    words = first_line.split()
    if plan is None or len(words) != len(template.split()):
        return _fallback_variables(first_line)
    found: list[tuple[str, str]] = []
    for position, pattern, labels in plan:
        match = pattern.match(words[position])
        if match is None:
            continue
        for label, value in zip(labels, match.groups(), strict=True):
            found.extend(_normalise_value(label, value.strip("[](),;'\"")))
    return found


def _normalise_value(label: str, value: str) -> list[tuple[str, str]]:
    if not value:
        return []
    if label == "value" and "=" in value:
        # Drain generalised a whole "key=value" token.
        key, _, value = value.partition("=")
        if not key.replace("_", "").replace("-", "").isalpha() or not value:
            return []
        label = _KEY_LABELS.get(key.lower(), key.lower()[:24])
    address = _IP_PORT_RX.fullmatch(value)
    if address is not None:
        pairs = [("ip" if label in ("ip", "host", "value", "number") else label, address.group(1))]
        if address.group(2):
            pairs.append(("port", address.group(2)))
        return pairs
    if label == "ip" and not _IP_RX.fullmatch(value):
        return [("host", value)]
    if label == "user" and value.isdigit():
        return [("number", value)]
    if label == "user" and "." in value and not value.startswith("."):
        return [("host", value)]
    if label == "value":
        # Free words in a generalised slot tell little; numbers may still be asked about.
        return [("number", value)] if to_number(value) is not None else []
    return [(label, value)]


_FALLBACK_RX = re.compile(
    r"(?P<ip>(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]))|\bport[ =:](?P<port>\d{1,5})\b|\buser[ =:](?P<user>[\w.@-]+)"
)


def _fallback_variables(message: str) -> list[tuple[str, str]]:
    found = []
    for match in _FALLBACK_RX.finditer(message):
        name = match.lastgroup
        if name:
            found.append((name, match.group(name)))
    return found


_UNIT_RX = re.compile(r"(?<=\d)(?:ms|us|µs|ns|s|sec|secs|kb|mb|gb|b|bytes|%)\Z", re.I)


def to_number(value: str) -> float | None:
    """A number, allowing a unit suffix: "877ms" -> 877.0 (units are not converted)."""
    match = _NUMBER_RX.fullmatch(_UNIT_RX.sub("", value.replace(",", "")))
    if match is None:
        return None
    try:
        return float(match.group(0))
    except ValueError:
        return None
