"""How questions say things that logs say differently: verbs and nouns -> the words log lines use.

A question asks "how many tasks *completed*?"; Spark writes "Finished task". A person asks when the system
last *rebooted*; syslog says "booting" or "shutdown". Each entry maps a question word (any inflection: the
key is matched against the word and its stem) to words that log lines use for the same thing. A text
term built from the word matches a line containing the word itself OR any of these.

Kept small on purpose: each entry is a word people really ask with and words logs really print. Longer
phrases ("exited with code") match as phrases. Add an entry when a question misses lines that say the
same thing in other words; never add question words that say nothing about the lines (those belong in
:data:`QUESTION_ONLY`).
"""

from __future__ import annotations

__all__ = [
    "ABBREVIATIONS",
    "LOG_SYNONYMS",
    "QUESTION_ONLY",
    "is_inflected_verb",
    "log_abbreviations",
    "log_phrase",
    "log_synonyms",
    "stem",
]

LOG_SYNONYMS: dict[str, tuple[str, ...]] = {
    # finishing and failing
    "complete": ("finished", "done", "succeeded", "completed", "complete", "success"),
    "finish": ("finished", "done", "completed", "complete"),
    "succeed": ("succeeded", "success", "successful", "successfully", "finished", "done", "ok"),
    "done": ("finished", "completed", "done"),
    "pass": ("succeeded", "passed", "success", "ok"),
    "crash": ("exited", "terminated", "killed", "segfault", "exited with code", "exited abnormally", "aborted",
              "core", "fatal", "panic"),
    "die": ("exited", "terminated", "killed", "died", "exited abnormally"),
    "reject": ("failed", "invalid", "denied", "refused", "rejected"),
    # "failed authentication" is logged as "authentication failure" as often as "Authentication failed".
    "fail": ("failed", "failure", "failures", "fail", "fails"),
    "failure": ("failure", "failures", "failed", "fail", "fails"),
    "deny": ("denied", "forbidden", "refused", "rejected"),
    # sessions and logins
    "login": ("login", "logon", "authentication", "password", "session opened", "accepted"),
    "logon": ("login", "logon", "authentication", "password", "session opened"),
    "signin": ("login", "authentication", "password", "session opened"),
    "logout": ("logout", "logoff", "session closed", "disconnected"),
    "authenticate": ("authentication", "auth", "password", "authenticated"),
    # starting and stopping
    "reboot": ("boot", "booting", "reboot", "restart", "restarting", "shutdown", "startup"),
    "restart": ("restart", "restarted", "restarting", "starting", "shutdown", "stopping"),
    "start": ("start", "started", "starting", "startup", "opened", "launched", "initialized"),
    "stop": ("stop", "stopped", "stopping", "shutdown", "shutting", "terminated", "terminating", "exiting", "closed"),
    "shutdown": ("shutdown", "shutting", "stopping", "stopped", "terminating", "terminated"),
    "end": ("closed", "ended", "terminated", "stopped", "finished"),
    "boot": ("boot", "booting", "booted", "spawned", "started", "startup"),
    "suspend": ("suspended", "paused", "suspend"),
    "pause": ("paused", "pause", "suspended"),
    # connections
    # A server logs the connection it let in as "Accepted" more often than "opened".
    "open": ("opened", "open", "opening", "accepted"),
    "disconnect": ("disconnect", "disconnected", "closed", "reset", "closing"),
    "drop": ("dropped", "closed", "reset", "disconnected", "broken", "lost"),
    "timeout": ("timeout", "time out", "timed out", "expired", "expiring"),
    "expire": ("expired", "expiring", "expiry", "timed out"),
    "delete": ("deleted", "deleting", "removed", "delete"),
    "remove": ("removed", "deleted", "deleting"),
    "send": ("sent", "sending", "served", "send"),
    "allocate": ("allocated", "allocate", "allocateblock"),
    "kill": ("killed", "kill", "terminated", "sigkill"),
    "run": ("running", "run", "runs"),
    "commit": ("committed", "commit", "saved"),
    "cancel": ("cancelled", "canceled", "cancel", "aborted"),
    "reach": ("contacting", "contact", "connect", "connecting", "reach", "reached", "reachable"),
    # A web server logs each request it served as its request line, '"GET /servers HTTP/1.1" status: 200',
    # without the word: the protocol names the line (matched as its words, "http" and "1").
    "request": ("request", "HTTP/1.1", "HTTP/1.0", "HTTP/2"),
    # negations: "got no answer" is logged as "got not answer", "could not" as "unable to", "cannot"
    "no": ("no", "not", "none", "never", "unable", "cannot"),
    "not": ("not", "no", "unable", "cannot", "never"),
}

# Words of questions that say nothing about which lines are meant: never required in a line.
QUESTION_ONLY: frozenset[str] = frozenset(
    """
    report reported reports reporting happen happened happening happens occur occurred occurs occurring
    many much times time often number count counted total totals amount value values
    log logs logged logging line lines entry entries event events record records message messages mention
    mentioned mentions mentioning appear appeared appears show shown tell give list kind kinds type types
    highest lowest largest smallest biggest longest shortest slowest fastest most least maximum minimum max min
    average avg mean median percentile sum altogether top common frequent frequently usually
    which what when where who whom whose how why did does do was were is are be been being there here
    have has had get got see seen ever overall across whole all any every each per distinct different unique
    came come comes coming went go goes going
    something anything someone anyone the a an of in on at to for by with from about into than then
    first last earliest latest recently recent
    """.split()  # noqa: SIM905 - a word list reads better as text
)


_SUFFIXES = ("ations", "ation", "ions", "ion", "ing", "ied", "ies", "ed", "es", "s", "e")


def stem(word: str) -> str:
    """A crude stem shared by question words and the table's keys: "completed" -> "complet"."""
    lowered = word.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) - len(suffix) >= 3:
            base = lowered[: -len(suffix)]
            return base + "y" if suffix in ("ied", "ies") else base
    return lowered


# Short forms logs write for nouns of questions: "block" is "blk_123" in HDFS, "request" is "req".
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "block": ("blk",), "address": ("addr",), "message": ("msg",), "request": ("req",), "response": ("resp",),
    "connection": ("conn",), "configuration": ("config", "conf"), "directory": ("dir",), "memory": ("mem",),
    "process": ("proc",), "transaction": ("txn",), "session": ("sess",),
}  # fmt: skip


def _root(word: str) -> str:
    """A word without its inflection, the same for every form of a verb or noun: "passed", "passes" and
    "pass" -> "pass"; "dropped" -> "dropp" (see :func:`_roots` for the doubled consonant); "completed" and
    "complete" -> "complet"; "succeeded" -> "succeed"."""
    lowered = word.lower()
    for suffix in ("ations", "ation", "ions", "ion", "ing", "ied", "ies", "ed", "es", "s"):
        if not lowered.endswith(suffix) or len(lowered) - len(suffix) < 3:
            continue
        if suffix == "es" and not lowered[:-2].endswith(("s", "x", "z", "ch", "sh")):
            continue  # "notes", "deletes": the e is the word's own ("passes", "crashes" lose "es")
        if suffix == "s" and lowered.endswith("ss"):
            continue  # "pass", "process": the s is the word's own
        if suffix == "ed" and lowered.endswith("eed") and len(lowered) <= 7:
            continue  # "succeed", "proceed": the e is the word's own
        lowered = lowered[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
        break
    return lowered[:-1] if lowered.endswith("e") and len(lowered) > 4 else lowered


def _roots(word: str) -> tuple[str, ...]:
    root = _root(word)
    # "dropped" -> "dropp" -> "drop", "cancelled" -> "cancel"; but "kill" is "kill".
    if len(root) >= 4 and root[-1] == root[-2] and root[-1] not in "aeiou":
        return root, root[:-1]
    return (root,)


_BY_ROOT: dict[str, tuple[str, ...]] = {}
for _key, _values in LOG_SYNONYMS.items():
    if len(_key) > 2:
        _BY_ROOT.setdefault(_root(_key), _values)
# Short keys ("no", "not") are only ever themselves: their stems would catch "note", "notes".
_BY_STEM: dict[str, tuple[str, ...]] = {stem(key): values for key, values in LOG_SYNONYMS.items() if len(key) > 3}
# Irregular forms that the stem cannot reach, and phrases of two words that say one thing.
_IRREGULAR = {"sent": "send", "died": "die", "dying": "die", "ran": "run", "running": "run", "went": "go",
              "came": "come",
              "logins": "login", "logged in": "login", "log in": "login", "sign in": "signin",
              "signed in": "signin", "timed out": "expire", "time out": "expire", "times out": "expire",
              "shut down": "shutdown", "shuts down": "shutdown", "shutting down": "shutdown",
              "came up": "boot", "come up": "boot", "comes up": "boot", "coming up": "boot",
              "went down": "stop", "go down": "stop", "goes down": "stop", "logged out": "logout",
              "log out": "logout", "booted": "boot", "rebooted": "reboot", "succeeded": "succeed",
              "success": "succeed", "successful": "succeed", "successfully": "succeed",
              "stopped": "stop", "dropped": "drop"}  # fmt: skip


def log_phrase(first: str, second: str) -> str | None:
    """The one word for the phrase two adjacent question words make, when logs say it in a word ("timed
    out" -> "timeout", which logs write as "timeout", "expired"...); None when they are two words."""
    return _IRREGULAR.get(f"{first.lower()} {second.lower()}")


def log_synonyms(word: str) -> tuple[str, ...]:
    """The words logs use for ``word`` or a phrase of :func:`log_phrase` (not including the word itself
    unless the table says so); (). Any inflection of a word in the table finds its entry."""
    lowered = word.lower()
    key = _IRREGULAR.get(lowered, lowered)
    if key in LOG_SYNONYMS:
        return LOG_SYNONYMS[key]
    for root in _roots(key):
        if root in _BY_ROOT:
            return _BY_ROOT[root]
    return _BY_STEM.get(stem(key), ())


def is_inflected_verb(word: str) -> bool:
    """Whether ``word`` reads as a verb's past or -ing form ("deleted", "running", "ran")."""
    lowered = word.lower()
    return lowered in _IRREGULAR or (len(lowered) > 4 and lowered.endswith(("ed", "ing")))


def log_abbreviations(word: str) -> tuple[str, ...]:
    """The short forms logs write for a noun, any number: "blocks" -> ("blk",); ()."""
    lowered = word.lower()
    if lowered in ABBREVIATIONS:
        return ABBREVIATIONS[lowered]
    for root in _roots(lowered):
        for noun, short in ABBREVIATIONS.items():
            if _root(noun) == root:
                return short
    return ()
