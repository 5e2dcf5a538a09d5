"""A question in plain language -> filters (time, level, host, source, process) + a text query + an intent.

"why did sshd reject logins last night?" becomes: last night's time range, process sshd (when the store
knows that process), text query "reject logins", intent "explain". Pure string work: the caller passes the
host, source and process names the store knows, so this module never touches a database.

What ends up where:

- ``text_query``: the words that describe what to look for, as typed, in order; filter words, question words
  and fillers removed, domain words ("reject", "logins", "payment", "502") kept; quoted phrases stay quoted.
- ``keywords``: the exact tokens a matching line should contain: IPs, ids (blk_-123, 0x1f, req-42), numbers,
  paths, user names, quoted phrases (without quotes). They are also part of ``text_query``.
- ``levels``: "errors" -> ERROR and CRITICAL, "warnings" -> WARNING, "critical" -> CRITICAL...; ``level_terms``
  keeps the words they came from, for logs whose lines carry no level. A level written in capitals as logs
  print it ("ERROR", "SEVERE", "FATAL") is that one level, and ``level_words`` keeps the word: the lines
  meant are the ones that print it.
- ``entity``: what the question asks to enumerate or rank ("which IPs" -> "ip"); ``limit`` from "top 5".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from logchat.errors import UsageError
from logchat.retrieval.timerange import LazyRegex, TimeRange, check_range_order, find_time_range, parse_time_point
from logchat.vocabulary import LEVEL_RANK, LEVELS

__all__ = ["INTENTS", "QuestionFilters", "normalise_levels", "parse_question"]

INTENTS = ("count", "top", "first", "last", "max", "min", "total", "explain", "list")


@dataclass
class QuestionFilters:
    """What retrieval needs from a question; empty lists mean "no filter"."""

    time_range: TimeRange | None
    levels: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    text_query: str = ""
    keywords: list[str] = field(default_factory=list)
    intent: str = "list"
    level_terms: list[str] = field(default_factory=list)
    # Levels written as logs print them ("SEVERE"): the matching lines print the word before their message.
    level_words: list[str] = field(default_factory=list)
    # Question words read as a process without a marker ("notification" -> `Notification`): retrieval reads
    # them as words again when the process filter leaves no event.
    process_terms: list[str] = field(default_factory=list)
    entity: str | None = None
    limit: int | None = None


# --- vocabulary -------------------------------------------------------------------------------------------

# Words naming levels in questions and in --level values. "errors" means "error or worse".
_LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "error": ("ERROR", "CRITICAL"),
    "errors": ("ERROR", "CRITICAL"),
    "critical": ("CRITICAL",),
    "crit": ("CRITICAL",),
    "fatal": ("CRITICAL",),
    "fatals": ("CRITICAL",),
    "emergency": ("CRITICAL",),
    "emerg": ("CRITICAL",),
    "alert": ("CRITICAL",),
    "alerts": ("CRITICAL",),
    "panic": ("CRITICAL",),
    "warning": ("WARNING",),
    "warnings": ("WARNING",),
    "warn": ("WARNING",),
    "warns": ("WARNING",),
    "notice": ("NOTICE",),
    "notices": ("NOTICE",),
    "info": ("INFO",),
    "debug": ("DEBUG",),
}
# Level words as logs print them, in capitals: a question that writes one ("how many SEVERE events?") quotes
# the lines' own level and means exactly the lines that print it, not "that level or worse". Several printed
# words share one stored level (SEVERE and ERROR are both ERROR, FATAL and FAILURE both CRITICAL: the same
# mapping as logchat.ingest.levels), so the word is kept to tell them apart.
_PRINTED_LEVELS: dict[str, str] = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "NOTICE": "NOTICE", "WARN": "WARNING", "WARNING": "WARNING",
    "ERR": "ERROR", "ERROR": "ERROR", "SEVERE": "ERROR", "CRIT": "CRITICAL", "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL", "FAILURE": "CRITICAL", "ALERT": "CRITICAL", "EMERG": "CRITICAL", "PANIC": "CRITICAL",
}  # fmt: skip
# A --level flag names one level exactly (no "or worse").
_LEVEL_ALIASES = {
    "err": "ERROR",
    "error": "ERROR",
    "errors": "ERROR",
    "warn": "WARNING",
    "warning": "WARNING",
    "warnings": "WARNING",
    "crit": "CRITICAL",
    "fatal": "CRITICAL",
    "emerg": "CRITICAL",
    "emergency": "CRITICAL",
    "alert": "CRITICAL",
    "panic": "CRITICAL",
    "information": "INFO",
    "informational": "INFO",
    "dbg": "DEBUG",
    "verbose": "DEBUG",
}

# What a question asks to enumerate or rank: "which IPs", "top 5 users", "how many distinct hosts", "by host".
_ENTITY_PLURAL = (
    r"ip\s+address(?:es)?|ips|addresses|users|usernames|accounts|hosts|hostnames|machines|servers|nodes"
    r"|processes|programs|daemons|sources|files|ports"
)
_ENTITY_SINGULAR = (
    r"ip(?:\s+address)?|user(?:name)?|account|host(?:name)?|machine|server|node|process|program|daemon"
    r"|source|file|port"
)
_ENTITY_RX = LazyRegex(
    r"\b(?:which|what|top(?:\s+\d+)?|list(?:\s+(?:the|all))?|show(?:\s+me)?(?:\s+(?:the|all))?|how\s+many"
    rf"|distinct|unique|different|by|per|each)\s+(?:(?:distinct|unique|different|the|all)\s+)?(?P<plural>{_ENTITY_PLURAL})\b"
    rf"|\b(?:which|what|each)\s+(?P<single>{_ENTITY_SINGULAR})\b"
    # "by user" groups; "by user bob" names a user, so the noun must end the clause.
    rf"|\b(?:by|per)\s+(?P<group>{_ENTITY_SINGULAR})\b(?=\s*$|\s*[?.!,;]|\s+(?:and|or|with|in|on|at|for|from)\b)"
    r"|\b(?P<bare>ip\s+addresses|ips)\b",
    re.IGNORECASE,
)
_ENTITY_KINDS = (
    (("ip", "address"), "ip"),
    (("user", "account"), "user"),
    (("host", "machine", "server", "node"), "host"),
    (("process", "program", "daemon"), "process"),
    (("source", "file"), "source"),
    (("port",), "port"),
)


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# "done" is not one: logs print it, and "how many tasks were done" asks for the lines that finished.
_STOP_WORDS = _word_set(
    """
    a about above across after again against all also am an and any anything are aren't around as at be
    been being both but by can can't could couldn't did didn't do does doesn't doing don't during
    each either ever every for from get gets getting give go goes going got had has hasn't have haven't
    having he her here hers him his how i i'm if in into is isn't it it's its itself just let list lists
    listing me more my near nor now of on once only or other our ours please s same see she should show
    shown shows so some something such tell than that that's the their theirs them then there there's
    these they this those through to too us very was wasn't we were weren't what what's when when's
    where where's whether which while who who's whom whose why will with within would wouldn't you your
    yours find look looking happen happened happening happens occur occurred occurring occurs involved
    involve involving cause caused causing reason reasons explain explanation went log logs logged line
    lines entry entries message messages event events record records level levels severity
    per each distinct unique least
    """
)
# Words after which a plain word is a user name ("user bob", "for root" in a login question).
_USER_MARKERS = frozenset({"user", "username", "account", "uid"})
_COMMON_USERS = frozenset(
    {"root", "admin", "administrator", "ubuntu", "guest", "test", "oracle", "postgres", "mysql", "nobody",
     "www-data", "ftp", "git", "pi", "user", "support", "operator", "daemon"}
)  # fmt: skip
_AUTH_RX = LazyRegex(r"\b(?:password|passwd|login|logins|logon|log\s+in|auth\w*|ssh\w*|sudo|su|session)\b", re.I)
# Nouns that follow "user" without naming one ("invalid user attempts", "user sessions").
_NOT_A_USER = frozenset({
    "invalid", "illegal", "unknown", "failed", "user", "users", "attempt", "attempts", "login", "logins",
    "session", "sessions", "account", "accounts", "name", "names", "id", "ids", "error", "errors", "failure",
    "failures", "activity", "agent", "agents", "request", "requests",
})  # fmt: skip

# Intent: the first rule that matches wins; its phrase is removed from the text query.
_INTENT_RULES: tuple[tuple[str, LazyRegex], ...] = tuple(
    (intent, LazyRegex(pattern, re.IGNORECASE))
    for intent, pattern in (
        ("count", r"\bhow\s+many(?:\s+times)?\b|\bhow\s+often\b|\b(?:the\s+)?(?:total\s+)?number\s+of(?:\s+times)?\b"
         r"|\bcount(?:\s+of)?\b"),
        ("first", r"\b(?:the\s+)?(?:first|earliest)\s+(?:time|occurrence|seen)\b|\bfirst\s+seen\b|\bearliest\b"
         r"|\bwhen\s+(?:was|were|did|is)\s+the\s+first\b"
         r"|\bwhen\s+did\b(?=.*\b(?:start|begin|began)\b)"),
        ("last", r"\b(?:the\s+)?(?:last|latest)\s+(?:time|occurrence|seen)\b|\blast\s+seen\b|\bmost\s+recent(?:ly)?\b"
         r"|\bwhen\s+(?:was|were|did|is)\s+the\s+last\b"
         r"|\blatest\b|\bwhen\s+did\b(?=.*\b(?:stop|end|finish)\b)"),
        ("top", r"\btop(?:\s+\d+)?\b|\bmost\s+(?:common|frequent(?:ly)?|often|active)\b|\bmost\b"),
        ("max", r"\b(?:the\s+)?(?:biggest|largest|max|maximum|highest|longest|slowest|peak)\b"),
        ("min", r"\b(?:the\s+)?(?:smallest|min|minimum|lowest|shortest|fastest|(?<!\bat\s)least)\b"),
        ("total", r"\bin\s+total\b|\b(?:the\s+)?total\b|\bsum\s+of\b|\baltogether\b"),
        ("explain", r"\bwhy\b|\bwhat\s+(?:happened|went\s+wrong|caused|causes)\b|\bexplain\b|\broot\s+cause\b"
         r"|\bhow\s+come\b"),
    )
)  # fmt: skip
_WHEN_DID_END_RX = LazyRegex(r"\b(?:start|begin|began|stop|end|finish)(?:ed|ped)?\b(?=\s*\??\s*$)", re.I)
_TOP_LIMIT_RX = LazyRegex(r"\btop\s+(\d+)\b", re.I)

_QUOTED_RX = LazyRegex(r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)|`([^`]+)`")
_PLACEHOLDER = "\x00{}\x00"
_CONTROL_RX = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Longer text is a paste, not a question; the bound keeps parsing well under a second.
MAX_QUESTION_CHARS = 10_000
_TOKEN_RX = LazyRegex(
    r"""
      (?P<quote>\x00\d+\x00)
    | (?P<url>[a-z][a-z0-9+.-]*://[^\s"'<>]+[^\s"'<>.,;:!?)])
    | (?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.]))
    | (?P<path>(?<![\w.])(?:~|\.{1,2})?/[\w.\-/~+@%]*[\w/])
    | (?P<word>\w(?:[\w.\-:@+=/#']*\w)?)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_HOSTNAME_RX = LazyRegex(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*", re.I)
# "link down on eth0", "I/O error on sda1": devices, not hosts.
_DEVICE_RX = LazyRegex(
    r"(?:eth|en[ops]?|eno|wlan|wlp|docker|br|bond|tun|tap|veth|virbr|vlan|lo|sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]"
    r"|nvme|md|dm-|loop|cpu|core|tty|pts)\w*\d\w*",
    re.I,
)
_HOST_MARKERS = frozenset({"host", "hostname", "server", "machine", "node"})
_PROCESS_MARKERS = frozenset({"process", "program", "daemon", "service", "component"})
_SOURCE_MARKERS = frozenset({"source", "file", "logfile"})


@dataclass
class _Token:
    text: str
    kind: str  # quote | url | ip | path | word
    used: bool = False  # consumed by a filter or a marker: not part of the text query
    # Written in capitals in a question that is not ("GET requests", "POST"): the log's own word, as printed.
    quoted_caps: bool = False

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_identifier(self) -> bool:
        if self.kind in ("url", "ip", "path"):
            return True
        if self.kind != "word":
            return False
        return any(char.isdigit() for char in self.text) or any(char in self.text for char in "_=@/:#.")


# --- helpers ----------------------------------------------------------------------------------------------


def _ordered_levels(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=LEVEL_RANK.__getitem__)


def normalise_levels(values: Iterable[str]) -> list[str]:
    """--level values -> LEVELS names ("warn" -> WARNING); UsageError naming an unknown level."""
    found: list[str] = []
    for value in values:
        for part in re.split(r"[,\s]+", value.strip()):
            if not part:
                continue
            name = part.upper() if part.upper() in LEVEL_RANK else _LEVEL_ALIASES.get(part.lower())
            if name is None:
                raise UsageError(f"unknown level {part!r}", hint=f"use one of {', '.join(LEVELS)}")
            found.append(name)
    return _ordered_levels(found)


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _match_names(word: str, known: Collection[str], *, partial: bool) -> list[str]:
    """Known names this word refers to: exact (any case), or with `partial`, a prefix up to punctuation
    ("sshd" -> "sshd(pam_unix)", "web-03" -> "web-03.example.com"). A program logged by its path is
    named by its file name ("gmetad" -> "/usr/sbin/gmetad")."""
    lowered = word.lower()
    hits = []
    for name in known:
        candidate = name.lower().rpartition("/")[2] if partial else name.lower()
        if not candidate:
            continue
        if candidate == lowered or (
            partial and candidate.startswith(lowered) and not candidate[len(lowered)].isalnum()
        ):
            hits.append(name)
    return hits


def _match_sources(word: str, known: Collection[str], *, loose: bool) -> list[str]:
    """Known sources a word names: the whole name or file name, or with `loose` a directory or file stem
    ("nginx" -> "/var/log/nginx/error.log", "auth" -> "/var/log/auth.log")."""
    lowered = word.lower()
    hits = []
    for name in known:
        candidate = name.lower()
        parts = [part for part in re.split(r"[/\\]", candidate) if part]
        basename = parts[-1] if parts else candidate
        if (
            candidate == lowered
            or basename == lowered
            or (loose and (lowered in parts or basename.split(".")[0] == lowered))
        ):
            hits.append(name)
    return hits


_LOG_NOUNS = frozenset({"log", "logs", "logfile"})
_NAME_RUN_RX = re.compile(r"[a-z]+")


def _names_the_log(word: str, name: str) -> bool:
    """Whether ``word`` starts or ends a run of letters of ``name`` ("ssh" in "OpenSSH_2k.log" or "sshd")."""
    return len(word) >= 3 and any(
        run.startswith(word) or run.endswith(word) for run in _NAME_RUN_RX.findall(name.lower())
    )


def _named_log(
    word: str, known_sources: Collection[str], known_processes: Collection[str]
) -> tuple[list[str], list[str]]:
    """The sources, else the processes, that "the <word> log" names: the word names the log as a file or a
    program does ("the auth log" is auth.log, "the ssh log" is OpenSSH.log or sshd's lines), not a word its
    lines contain."""
    lowered = word.lower()
    sources = _match_sources(word, known_sources, loose=True) or [
        name for name in known_sources if _names_the_log(lowered, re.split(r"[/\\]", name)[-1])
    ]
    if sources:
        return sources, []
    processes = _match_names(word, known_processes, partial=True) or [
        name for name in known_processes if _names_the_log(lowered, name.rpartition("/")[2])
    ]
    return [], processes


def _looks_like_hostname(word: str) -> bool:
    # "web-03", "db1", "ip-10-0-0-7.ec2.internal": a name with a digit or a dash, not a plain word.
    return (
        bool(_HOSTNAME_RX.fullmatch(word))
        and any(char.isdigit() or char == "-" for char in word)
        and not _DEVICE_RX.fullmatch(word)
    )


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    mixed_case = any(char.islower() for char in text)
    for match in _TOKEN_RX.finditer(text):
        word = match.group(0)
        if word.lower().endswith("'s") and len(word) > 2:  # "nginx's" names nginx
            word = word[:-2]
        kind = match.lastgroup or "word"
        caps = mixed_case and kind == "word" and len(word) >= 3 and word.isalpha() and word.isupper()
        tokens.append(_Token(word, kind, quoted_caps=caps))
    return tokens


def _next_unused(tokens: Sequence[_Token], index: int) -> int | None:
    following = index + 1
    if following < len(tokens) and not tokens[following].used:
        return following
    return None


def _detect_intent(text: str) -> tuple[str, str, int | None]:
    """Intent, the text without the words that expressed it, and a "top N" limit."""
    limit_match = _TOP_LIMIT_RX.search(text)
    limit = int(limit_match.group(1)) if limit_match else None
    for intent, pattern in _INTENT_RULES:
        match = pattern.search(text)
        if match is None:
            continue
        rest = text[: match.start()] + " " + text[match.end() :]
        if match.group(0).lower().startswith("when"):
            rest = _WHEN_DID_END_RX.sub(" ", rest)
        return intent, rest, limit
    return "list", text, limit


def _detect_entity(text: str) -> tuple[str | None, str]:
    """What the question asks to enumerate ("which IPs" -> "ip"), and the text without that noun."""
    match = _ENTITY_RX.search(text)
    if match is None:
        return None, text
    group = next(name for name in ("plural", "single", "group", "bare") if match[name])
    noun = match[group].lower()
    entity = next(kind for prefixes, kind in _ENTITY_KINDS if noun.startswith(prefixes))
    return entity, text[: match.start(group)] + " " + text[match.end(group) :]


@dataclass
class _Found:
    levels: list[str] = field(default_factory=list)
    level_terms: list[str] = field(default_factory=list)
    level_words: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    process_terms: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


def _classify_marked(
    marker: _Token,
    target: _Token,
    found: _Found,
    known_hosts: Collection[str],
    known_sources: Collection[str],
    known_processes: Collection[str],
    auth_question: bool,
) -> bool:
    """A marker word and the token after it ("on web-03", "in nginx", "user bob"); True when used."""
    word, text = marker.lower, target.text
    if target.kind not in ("word", "ip", "path") or target.lower in _STOP_WORDS:
        return False
    if word in _HOST_MARKERS or word == "on":
        hosts = _match_names(text, known_hosts, partial=True)
        named = target.kind == "word" and _looks_like_hostname(text)
        explicit = word in _HOST_MARKERS and (target.kind == "ip" or "." in text)
        if hosts or named or explicit:
            found.hosts.extend(hosts or [text])
            marker.used = target.used = True
            return True
    if word in _SOURCE_MARKERS or word in ("in", "from"):
        sources = _match_sources(text, known_sources, loose=True)
        is_file = word in _SOURCE_MARKERS and (target.kind == "path" or "." in text or "/" in text)
        if sources or is_file:
            found.sources.extend(sources or [text])
            marker.used = target.used = True
            return True
    if word in _PROCESS_MARKERS and (processes := _match_names(text, known_processes, partial=True)):
        found.processes.extend(processes)
        marker.used = target.used = True
        return True
    if target.kind != "word" or target.lower in _NOT_A_USER or target.lower.isdigit():
        return False
    if word in _USER_MARKERS or (
        word == "for" and (target.lower in _COMMON_USERS or auth_question) and not target.is_identifier
    ):
        # The name stays in the text query (log lines contain it); only the marker goes.
        found.users.append(text)
        marker.used = True
        return True
    return False


def _classify(
    tokens: list[_Token],
    index: int,
    found: _Found,
    known_hosts: Collection[str],
    known_sources: Collection[str],
    known_processes: Collection[str],
    auth_question: bool,
) -> None:
    token = tokens[index]
    following = _next_unused(tokens, index)
    next_token = tokens[following] if following is not None else None
    if next_token is not None and _classify_marked(
        token, next_token, found, known_hosts, known_sources, known_processes, auth_question
    ):
        return
    if token.kind != "word":
        return
    word = token.lower
    if next_token is not None and next_token.lower in _LOG_NOUNS and word not in _STOP_WORDS:
        sources, processes = _named_log(token.text, known_sources, known_processes)
        if sources or processes:
            found.sources.extend(sources)
            found.processes.extend(processes)
            token.used = next_token.used = True
            return
    if processes := _match_names(token.text, known_processes, partial=True):
        found.processes.extend(processes)
        found.process_terms.append(token.text)
    elif hosts := _match_names(token.text, known_hosts, partial=True):
        found.hosts.extend(hosts)
    elif sources := _match_sources(token.text, known_sources, loose=False):
        found.sources.extend(sources)
    elif token.text in _PRINTED_LEVELS:
        found.levels.append(_PRINTED_LEVELS[token.text])
        found.level_terms.append(token.text)
        found.level_words.append(token.text)
    elif word in ("critical", "fatal") and next_token is not None and next_token.lower in ("error", "errors"):
        found.levels.append("CRITICAL")
        found.level_terms.append(f"{token.text} {next_token.text}")
        next_token.used = True
    elif word in _LEVEL_WORDS:
        found.levels.extend(_LEVEL_WORDS[word])
        found.level_terms.append(token.text)
    elif token.quoted_caps:
        return  # "GET requests": the method as logged, not the verb "get"
    elif word in _STOP_WORDS or (word == "ip" and next_token is not None and next_token.kind == "ip"):
        pass
    else:
        return
    token.used = True


# --- public -----------------------------------------------------------------------------------------------


def parse_question(
    question: str,
    *,
    now: datetime,
    tz: tzinfo,
    known_hosts: Collection[str] = (),
    known_sources: Collection[str] = (),
    known_processes: Collection[str] = (),
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    levels: Iterable[str] = (),
    hosts: Iterable[str] = (),
    sources: Iterable[str] = (),
    processes: Iterable[str] = (),
) -> QuestionFilters:
    """Split a question into filters, a text query, keywords and an intent.

    Explicit ``since``/``until``/``levels``/``hosts``/``sources``/``processes`` (command-line flags or request
    fields) win over what the text says: when either of ``since``/``until`` is given, they define the whole time range.
    A word is a host when it is a known host, or follows "host" or "on" and looks like a host name
    ("on web-03"); a process when it is a known process ("sshd", "from sshd") or follows "process"; a source
    when it names a known source ("in nginx", "source auth.log") or follows "source"/"file".
    """
    if len(question) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"the question is {len(question):,} characters long; at most {MAX_QUESTION_CHARS:,} are read",
            hint="ask about the part that matters",
        )
    # Control characters mean nothing in a question, and NUL is the quote placeholder's own delimiter.
    question = _CONTROL_RX.sub(" ", question)
    quoted: list[str] = []

    def hide_quote(match: re.Match[str]) -> str:
        quoted.append(next(group for group in match.groups() if group is not None))
        return " " + _PLACEHOLDER.format(len(quoted) - 1) + " "

    masked = _QUOTED_RX.sub(hide_quote, question)
    time_range, rest = find_time_range(masked, now=now, tz=tz)
    if since is not None or until is not None:
        time_range = TimeRange(
            since=_flag_time(since, now=now, tz=tz), until=_flag_time(until, now=now, tz=tz), phrase=None
        )
        check_range_order(time_range.since, time_range.until, phrase=f"since {since} until {until}")
    entity, rest = _detect_entity(rest)
    intent, rest, limit = _detect_intent(rest)
    tokens = _tokenize(rest)
    found = _Found()
    auth_question = bool(_AUTH_RX.search(question))
    for index, token in enumerate(tokens):
        if not token.used:
            _classify(tokens, index, found, known_hosts, known_sources, known_processes, auth_question)

    query_parts: list[str] = []
    keywords: list[str] = []
    user_names = {name.lower() for name in found.users}
    for token in tokens:
        if token.used:
            continue
        if token.kind == "quote":
            phrase = quoted[int(token.text.strip("\x00"))]
            query_parts.append(f'"{phrase}"')
            keywords.append(phrase)
            continue
        text = token.text
        if re.fullmatch(r"\d+s", text):  # "502s" are occurrences of 502
            text = text[:-1]
        query_parts.append(text)
        if token.is_identifier or token.lower in user_names or text.isdigit() or token.quoted_caps:
            keywords.append(text)

    return QuestionFilters(
        time_range=time_range,
        levels=normalise_levels(levels) if levels else _ordered_levels(found.levels),
        hosts=_dedupe(hosts) if hosts else _dedupe(found.hosts),
        sources=_dedupe(sources) if sources else _dedupe(found.sources),
        processes=_dedupe(processes) if processes else _dedupe(found.processes),
        text_query=" ".join(query_parts),
        keywords=_dedupe(keywords),
        intent=intent,
        level_terms=found.level_terms,
        level_words=[] if levels else _dedupe(found.level_words),
        process_terms=[] if processes else found.process_terms,
        entity=entity,
        limit=limit,
    )


def _flag_time(value: datetime | str | None, *, now: datetime, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time_point(value, now=now, tz=tz)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
