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

__all__ = ["LOG_SYNONYMS", "QUESTION_ONLY", "log_synonyms", "stem"]

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
    "stop": ("stop", "stopped", "stopping", "shutdown", "shutting", "terminated", "exiting", "closed"),
    "shutdown": ("shutdown", "shutting", "stopping", "stopped"),
    "end": ("closed", "ended", "terminated", "stopped", "finished"),
    "boot": ("boot", "booting", "booted", "spawned", "started", "startup"),
    "suspend": ("suspended", "paused", "suspend"),
    "pause": ("paused", "pause", "suspended"),
    # connections
    # A server logs the connection it let in as "Accepted" more often than "opened".
    "open": ("opened", "open", "opening", "accepted"),
    "disconnect": ("disconnect", "disconnected", "closed", "reset", "closing"),
    "drop": ("dropped", "closed", "reset", "disconnected", "broken", "lost"),
    "timeout": ("timeout", "timed", "expired", "expiring"),
    "expire": ("expired", "expiring", "expiry"),
    "delete": ("deleted", "deleting", "removed", "delete"),
    "remove": ("removed", "deleted", "deleting"),
    "send": ("sent", "sending", "served", "send"),
    "allocate": ("allocated", "allocate", "allocateblock"),
    "kill": ("killed", "kill", "terminated", "sigkill"),
    "commit": ("committed", "commit", "saved"),
    "cancel": ("cancelled", "canceled", "cancel", "aborted"),
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


_BY_STEM: dict[str, tuple[str, ...]] = {stem(key): values for key, values in LOG_SYNONYMS.items()}
# Irregular forms that the stem cannot reach.
_IRREGULAR = {"sent": "send", "died": "die", "dying": "die", "ran": "run", "went": "go", "came": "come",
              "logins": "login", "logged in": "login", "log in": "login", "sign in": "signin",
              "signed in": "signin", "timed out": "timeout", "time out": "timeout", "shut down": "shutdown",
              "came up": "boot", "booted": "boot", "rebooted": "reboot", "succeeded": "succeed",
              "success": "succeed", "successful": "succeed", "successfully": "succeed",
              "stopped": "stop", "dropped": "drop"}  # fmt: skip


def log_synonyms(word: str) -> tuple[str, ...]:
    """The words logs use for ``word`` (not including the word itself unless the table says so); ()."""
    lowered = word.lower()
    key = _IRREGULAR.get(lowered, lowered)
    if key in LOG_SYNONYMS:
        return LOG_SYNONYMS[key]
    return _BY_STEM.get(stem(key), ())
