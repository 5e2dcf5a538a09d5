"""Mask credentials in log text before it leaves the process (prompts, answers, error lines).

What is kept (scheme, user name, key name, token prefix) is what an operator needs to recognise the
line; what is replaced is what an attacker would need.

Speed: most log lines hold no secret, so the cost that matters is proving that. A handful of
substring tests on the lower-cased text (C speed) rule out nearly every line; only the rest get the
one combined regular expression, which replaces every kind of secret in a single pass.
"""

from __future__ import annotations

import re

MASK = "***"

_KEY_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|secret(?:[_-]?access)?(?:[_-]?key)?|client[_-]?secret|credentials?"
)

_RULES: dict[str, str] = {
    # -----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY----- (or to the end of the text
    # when a multi-line event was cut before the footer).
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    # scheme://user:password@host; matching from "://" keeps the scheme out of the scan.
    "url_password": r"(?P<url_head>://[^\s:/@]+:)[^\s@/]+(?=@)",
    # Authorization: Bearer xxx / Basic xxx
    "auth_header": r"(?P<auth_head>(?i:\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token|digest)\s+)?))(?!(?i:bearer|basic|token|digest)\b)[A-Za-z0-9._~+/=-]{6,}",
    # a bare "Bearer xxx" elsewhere in a line; long enough not to eat ordinary words
    "bearer": r"(?P<bearer_head>(?i:\bbearer\s+))[A-Za-z0-9._~+/=-]{16,}",
    "aws_key": r"\b(?P<aws_head>AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?P<gh_head>gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}",
    "slack_token": r"\b(?P<slack_head>xox[abposr]-)[A-Za-z0-9-]{10,}",
    "slack_webhook": r"(?P<hook_head>hooks\.slack\.com/services/)[A-Za-z0-9/]+",
    "jwt": r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    # password=..., "api_key": "...", DB_PASSWORD: ...; a prefix such as "DB_" or "X-" stays
    # outside the match, which is why the look-behind only refuses letters and digits.
    "key_value": r"(?P<kv_head>(?<![A-Za-z0-9])(?i:" + _KEY_WORDS + r")"
    r"[\"']?\s*[:=]\s*(?P<kv_quote>[\"'])?)"
    r"(?(kv_quote)[^\"'\r\n]+|[^\s,;&\"'}\])]+)",
}

_HEAD_GROUP = {
    "url_password": "url_head",
    "auth_header": "auth_head",
    "bearer": "bearer_head",
    "aws_key": "aws_head",
    "github_token": "gh_head",
    "slack_token": "slack_head",
    "slack_webhook": "hook_head",
    "key_value": "kv_head",
}

_COMBINED = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _RULES.items()))

# Every rule above needs one of these substrings; keep the two lists in step with the rules.
_LOWER_TRIGGERS = (
    "pass", "pwd", "token", "secret", "://", "authorization", "bearer", "eyj", "-----begin",
    "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey",
    "private_key", "private-key", "privatekey", "credential", "xox", "hooks.slack.com",
)  # fmt: skip
_CASED_TRIGGERS = (
    "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
)  # fmt: skip
_LOWER_TRIGGER_SCAN = re.compile("|".join(re.escape(t) for t in _LOWER_TRIGGERS))
_CASED_TRIGGER_SCAN = re.compile("|".join(re.escape(t) for t in _CASED_TRIGGERS))


def _replace(match: re.Match[str]) -> str:
    rule = match.lastgroup
    if rule == "private_key":
        return f"-----BEGIN PRIVATE KEY----- {MASK} -----END PRIVATE KEY-----"
    if rule == "jwt":
        return f"eyJ{MASK}"
    head = match.group(_HEAD_GROUP[rule]) if rule in _HEAD_GROUP else ""
    return f"{head}{MASK}"


def might_hold_secret(text: str) -> bool:
    """Cheap test: False means ``mask_secrets`` would certainly return ``text`` unchanged."""
    if _LOWER_TRIGGER_SCAN.search(text.lower()) is not None:
        return True
    return _CASED_TRIGGER_SCAN.search(text) is not None


def mask_secrets(text: str) -> str:
    """Return ``text`` with passwords, tokens, keys and private key blocks replaced by ``***``."""
    if not text or not might_hold_secret(text):
        return text
    return _COMBINED.sub(_replace, text)
