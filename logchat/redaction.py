"""Mask credentials in log text: at ingest for everything derived, at output for everything shown.

Where masking happens (docs/secrets.md): templates are mined from masked messages, so templates,
rollups and everything computed from them never hold a secret; values read back from stored
messages (top values, maxima) and evidence lines are masked as they are read; every service result
(`ask`, `stat`, `sessions`), the prompt and the stored chat turns pass through :func:`mask_tree` or
:func:`mask_secrets`. The raw event text stays in the store as it was: it is the data.

What is kept (scheme, user name, key name, token prefix) is what an operator needs to recognise the
line; what is replaced is what an attacker would need.

Speed: most log lines hold no secret, so the cost that matters is proving that. One Aho-Corasick scan
of the lower-cased text finds every rule's trigger words; a line runs only the rules it triggers
(compiled together, one pass), and most lines run none.

The token formats of the vendor rules (Stripe, SendGrid, Twilio, PyPI, npm, GitLab, OpenAI, Azure,
Mailchimp, AWS, JWT) follow Yelp's detect-secrets plugins; the tests check this module against
detect-secrets on the secret corpus so that nothing it finds is left here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# A key named like a credential: password=…, "api_key": "…", DB_PASSWORD: …, authToken=…. A prefix
# such as "DB_" or "X-" stays outside the match; a camelCase prefix ("authToken") is allowed by a
# case-sensitive second branch, so "bypass=1" stays as it is.
_CAMEL_KEYS = r"Token|Password|Passwd|Secret|ApiKey|AccessKey|SecretKey|PrivateKey|AuthKey|Credentials?"
_KEY_WORDS = (
    r"pass(?:word|wd|phrase|code)?|pwd|token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|private[_-]?key"
    r"|secret(?:[_-]?access)?(?:[_-]?key)?|credentials?|accountkey|sharedaccesskey|signing[_-]?key|encryption[_-]?key"
    r"|session[_-]?key"
)
# A session cookie by its well-known names.
_COOKIE_NAMES = (
    r"session(?:[_-]?id)?|sessid|phpsessid|jsessionid|connect\.sid|laravel_session|_session_id|remember_token"
    r"|csrftoken|xsrf-token|sid"
)
# Query parameters that carry credentials in URLs: ?token=…&key=…&sig=….
_QUERY_KEYS = (
    r"key|token|access_token|id_token|refresh_token|auth|code|sig|signature|password|passwd|pwd|secret|api_key"
    r"|apikey|client_secret|x-amz-signature|x-amz-credential|x-amz-security-token|sessionid|session"
)
_SHORTCUT_VALUE = r"(?=[A-Za-z0-9+/=_-]*\d)(?=[A-Za-z0-9+/=_-]*[A-Za-z])[A-Za-z0-9+/=_.-]{16,}"

_RULES: dict[str, str] = {  # nosec B105  # patterns that find secrets, not secrets
    # -----BEGIN RSA PRIVATE KEY----- … -----END RSA PRIVATE KEY----- (or to the end of the text
    # when a multi-line event was cut before the footer); PGP blocks too.
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    # scheme://user:password@host; the password runs to the last "@" before the host, so an "@"
    # inside it does not leak the rest.
    "url_password": r"(?P<url_head>://[^\s:/@]*:)[^\s/]+(?=@)",
    # ?token=…&key=… in a URL: only this parameter's value, up to the next "&".
    "query": r"(?P<query_head>[?&](?i:" + _QUERY_KEYS + r")=)[^&#\s\"]+",
    # Cookie: / Set-Cookie: — every cookie in the header; unknown cookie names may be sessions too.
    "cookie_header": r"(?P<cookie_head>(?i:\b(?:set-)?cookie[\"']?\s*[:=]\s*[\"']?))[^\"'\r\n]+",
    "session_cookie": r"(?P<sess_head>(?<![A-Za-z0-9])(?i:" + _COOKIE_NAMES + r")=)[^;\s\"',&]+",
    # Authorization: Bearer xxx / Basic xxx
    "auth_header": r"(?P<auth_head>(?i:\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token|digest|sso-key)\s+)?))(?!(?i:bearer|basic|token|digest)\b)[A-Za-z0-9._~+/=:-]{6,}",
    # a bare "Bearer xxx" / "Basic xxx" elsewhere in a line; long or base64-like enough not to eat words
    "bearer": r"(?P<bearer_head>(?i:\bbearer\s+))[A-Za-z0-9._~+/=-]{16,}",
    "basic": r"(?P<basic_head>\b[Bb]asic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}",
    "aws_key": r"\b(?P<aws_head>AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?P<gh_head>gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}",
    "gitlab_token": r"\b(?P<gl_head>glpat-|glptt-|gldt-)[A-Za-z0-9_-]{20,}",
    "slack_token": r"\b(?P<slack_head>xox[abposr]-|xapp-)[A-Za-z0-9-]{10,}",
    "slack_webhook": r"(?P<hook_head>hooks\.slack\.com/(?:services|workflows)/)[A-Za-z0-9/]+",
    "stripe": r"\b(?P<stripe_head>(?:sk|rk|pk|whsec)_(?:live|test)_)[0-9A-Za-z]{10,}",
    "google_key": r"\b(?P<google_head>AIza)[0-9A-Za-z_-]{30,}",
    "google_oauth": r"\b(?P<goauth_head>ya29\.)[0-9A-Za-z_-]{20,}",
    "sendgrid": r"\b(?P<sg_head>SG\.)[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
    # Twilio ids look like any hex string after "AC"/"SK": only where the line names Twilio.
    "twilio": r"\b(?P<twilio_head>AC|SK)[0-9a-f]{32}\b",
    "npm_token": r"\b(?P<npm_head>npm_)[A-Za-z0-9]{30,}",
    "pypi_token": r"\b(?P<pypi_head>pypi-)[A-Za-z0-9_-]{50,}",
    "openai_key": r"\b(?P<openai_head>sk-(?:proj-|ant-)?)[A-Za-z0-9_-]{20,}",
    "mailchimp": r"\b[0-9a-f]{32}(?P<mc_tail>-us[0-9]{1,2})\b",
    "ssh_public_key": r"(?P<ssh_head>\b(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+) )AAAA[0-9A-Za-z+/]+={0,2}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    # A quoted value runs to its closing quote (also nginx's escaped quote \x22), an unquoted one to
    # the next white space: "&", "," and ";" inside a password are part of it.
    "key_value": r"(?P<kv_head>(?:(?<![A-Za-z0-9])(?i:" + _KEY_WORDS + r")|(?<=[a-z])(?:" + _CAMEL_KEYS + r"))"
    r"(?:\\?[\"']|\\x22)?\s*[:=]\s*(?:\\?(?P<kv_quote>[\"'])|(?P<kv_x22>\\x22))?)"
    r"(?(kv_quote)[^\r\n]*?(?=(?P=kv_quote)|$)|(?(kv_x22)[^\r\n]*?(?=\\x22|$)|(?![\"'])\S+))",
    # Passwords quoted in prose: "password was 'x'", "entered 'x'", "with passphrase \"x\"".
    "prose": r"(?P<prose_head>(?i:\b(?:pass(?:word|wd|phrase|code)?|pwd|secret|entered|typed)"
    r"(?:\s+(?:was|is|of|entered|typed|given|used|set\s+to|the|password))*\s*[:=]?\s*)(?P<prose_quote>[\"'`]))"
    r"[^\r\n]+?(?=(?P=prose_quote))",
    # A long mixed token right after a word that names a key: "key: 8f3a9c…", "signature 5b1e…".
    "keyword_token": r"(?P<kw_head>(?i:\b(?:key|secret|signature|credential|license)s?\b[\"']?\s*[:=]?\s*[\"']?))"
    + r"(?!AKIA|ASIA|eyJ|gh[pousr]_|xox|xapp-|[sr]k_|AIza|ya29\.|SG\.|npm_|pypi-|gl[pd])" + _SHORTCUT_VALUE,
}

_HEAD_GROUP = {  # nosec B105  # names of regex groups
    "url_password": "url_head", "query": "query_head", "cookie_header": "cookie_head", "session_cookie": "sess_head",
    "auth_header": "auth_head", "bearer": "bearer_head", "basic": "basic_head", "aws_key": "aws_head",
    "github_token": "gh_head", "gitlab_token": "gl_head", "slack_token": "slack_head", "slack_webhook": "hook_head",
    "stripe": "stripe_head", "google_key": "google_head", "google_oauth": "goauth_head", "sendgrid": "sg_head",
    "twilio": "twilio_head", "npm_token": "npm_head", "pypi_token": "pypi_head", "openai_key": "openai_head",
    "ssh_public_key": "ssh_head", "key_value": "kv_head", "prose": "prose_head", "keyword_token": "kw_head",
}  # fmt: skip

# What each rule needs to find in a line (lower-cased) before it is worth running: a line runs only
# the rules it triggers, compiled into one pattern. Keep these in step with the rules
# (tests/llm/test_secrets.py checks every corpus line). Broad words that ordinary logs are full of
# ("auth" in "authentication failure", "sess" in "session opened") are narrowed to what a rule needs.
_PASSWORDISH = ("pass", "pwd", "secret")
_RULE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "private_key": ("-----begin",),
    "url_password": ("://",),
    "query": ("key=", "token=", "auth=", "code=", "sig=", "signature=", "x-amz-", "session=", "sessionid=",
              *_PASSWORDISH),
    "cookie_header": ("cookie",),
    "session_cookie": ("session=", "session_id=", "session-id=", "sessionid=", "sid=", "csrftoken=",
                       "remember_token=", "xsrf-token="),
    "auth_header": ("authorization",),
    "bearer": ("bearer",),
    "basic": ("basic",),
    "gitlab_token": ("glp", "gldt-"),
    "slack_token": ("xox", "xapp-"),
    "slack_webhook": ("hooks.slack.com",),
    "stripe": ("_live_", "_test_"),
    "google_key": ("aiza",),
    "google_oauth": ("ya29.",),
    "sendgrid": ("sg.",),
    "twilio": ("twilio",),
    "npm_token": ("npm_",),
    "pypi_token": ("pypi-",),
    "openai_key": ("sk-",),
    "mailchimp": ("-us",),
    "ssh_public_key": ("ssh-", "ecdsa-"),
    "jwt": ("eyj",),
    "key_value": (*_PASSWORDISH, "token", "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey",
                  "private_key", "private-key", "privatekey", "credential", "authkey", "accountkey", "signing",
                  "encryption", "session_key", "session-key", "sessionkey"),
    "prose": (*_PASSWORDISH, "entered", "typed"),
    "keyword_token": ("key", "secret", "signature", "credential", "license"),
}
# Rules whose token is case-sensitive: their triggers are looked for lower-cased too (one scan for all;
# "asia" in "Asia/Tokyo" only costs a run of a cheap case-sensitive rule).
_RULE_TRIGGERS["aws_key"] = ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa", "abia", "acca")
_RULE_TRIGGERS["github_token"] = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
# A triggered rule also needs one of these characters soon after its trigger word: "sshd[7]: Failed
# password for root from …" (thousands of times a day) names a password but has nothing to mask.
_AFTER_WINDOW = 40
_NEEDED_AFTER: dict[str, tuple[str, ...]] = {
    "query": ("=",),
    "cookie_header": (":", "="),
    "key_value": (":", "="),
    "prose": ("'", '"', "`"),
}
_DIGITS = tuple("0123456789")
_RULE_ORDER = {name: position for position, name in enumerate(_RULES)}


_scanner: Any = None


def _trigger_scanner() -> Any:
    """An Aho-Corasick automaton over the triggers: one pass over a line finds all of them (C speed)."""
    global _scanner
    if _scanner is None:
        import ahocorasick

        by_word: dict[str, set[str]] = {}
        for rule, words in _RULE_TRIGGERS.items():
            for word in words:
                by_word.setdefault(word, set()).add(rule)
        automaton = ahocorasick.Automaton()
        for word, rules in by_word.items():
            # Each rule with the characters it needs after the word, so a hit costs no lookups.
            automaton.add_word(word, tuple((rule, _NEEDED_AFTER.get(rule, ())) for rule in sorted(rules)))
        automaton.make_automaton()
        _scanner = automaton
    return _scanner


_NOTHING: frozenset[str] = frozenset()


def _triggered_rules(text: str) -> frozenset[str]:
    found: set[str] | None = None
    lowered = text.lower()
    for end, checks in (_scanner or _trigger_scanner()).iter(lowered):
        after = None
        for rule, needed in checks:
            if needed:
                if after is None:
                    after = lowered[end : end + 1 + _AFTER_WINDOW]  # from the trigger's last character: "sig="
                for char in needed:
                    if char in after:
                        break
                else:
                    continue
            if found is None:
                found = {rule}
            else:
                found.add(rule)
    if found is None:
        return _NOTHING
    if "keyword_token" in found and not any(digit in text for digit in _DIGITS):
        found.discard("keyword_token")
    return frozenset(found)


@cache
def _combined(rules: frozenset[str]) -> re.Pattern[str]:
    ordered = sorted(rules, key=_RULE_ORDER.__getitem__)
    return re.compile("|".join(f"(?P<{name}>{_RULES[name]})" for name in ordered), re.MULTILINE)


def _replace(match: re.Match[str]) -> str:
    rule = match.lastgroup
    if rule == "private_key":
        return f"-----BEGIN PRIVATE KEY----- {MASK} -----END PRIVATE KEY-----"
    if rule == "jwt":
        return f"eyJ{MASK}"
    if rule == "mailchimp":
        return f"{MASK}{match.group('mc_tail')}"
    head = match.group(_HEAD_GROUP[rule]) if rule in _HEAD_GROUP else ""  # type: ignore[index]
    return f"{head}{MASK}"


def might_hold_secret(text: str) -> bool:
    """Cheap test: False means ``mask_secrets`` would certainly return ``text`` unchanged."""
    return bool(_triggered_rules(text))


def mask_secrets(text: str) -> str:
    """Return ``text`` with passwords, tokens, keys, cookies and private keys replaced by ``***``."""
    if not text:
        return text
    rules = _triggered_rules(text)
    if not rules:
        return text
    return _combined(rules).sub(_replace, text)


class KeyedSecretMask:
    """:func:`mask_secrets` for a stream of texts that each come with a digit key: the text's UTF-8 translated by
    ``digit_table``, which turns digits into one digit ("port 60642" and "port 51234" share a key) and keeps
    every other byte. Texts with one key differ only in such digits. No trigger word holds one but a few
    ("ya29."), so once a text triggers no rule, every text of its key triggers none either: they skip the scan
    (ingest meets the same line shapes over and over), and ``mask`` returns them themselves, as mask_secrets does.
    A key whose texts could hold a trigger word with a digit is never remembered. ``shared_key`` maps a key to a
    coarser one whose texts also differ only in digits ("port 40260" and "port 51234"): a text whose key is new
    skips the scan when its shared key is known to be clean."""

    def __init__(
        self, digit_table: bytes, limit: int = 100_000, longest: int = 1024,
        shared_key: Callable[[bytes], bytes] | None = None,
    ) -> None:
        # At most ``limit`` keys of at most ``longest`` bytes: the memory stays bounded whatever the lines.
        self._clean: set[bytes] = set()
        self._limit = limit
        self._longest = longest
        self._shared_key = shared_key
        # Texts of a shared key differ in digits that their keys may show either way: a trigger word with a
        # digit is looked for with all its digits alike, in the key with all its digits alike.
        self._word_table = _ALL_DIGITS_ALIKE if shared_key is not None else digit_table
        self._digit_words = tuple(
            {
                word.encode("ascii").translate(self._word_table)
                for words in _RULE_TRIGGERS.values()
                for word in words
                if word.encode("ascii").translate(digit_table) != word.encode("ascii")
                or (shared_key is not None and any(char.isdigit() for char in word))
            }
        )
        # Only "K" (the Kelvin sign) and "İ" lower-case to ASCII from outside it, to "k" and "i": a word with
        # either could be in a text whose key's ASCII lower case does not show it, and then nothing is remembered.
        self._remembers = not any(b"k" in word or b"i" in word for word in self._digit_words)
        # A rule that needed a digit after its trigger word would tell texts of one key apart too.
        if any(char.isdigit() for needed in _NEEDED_AFTER.values() for char in needed):
            self._remembers = False

    def mask(self, text: str, key: bytes) -> str:
        """``mask_secrets(text)``; ``key`` is the digit key of all of ``text``."""
        clean = self._clean
        if key in clean:
            return text
        shared = key
        if self._shared_key is not None:
            shared = self._shared_key(key)
            if shared is not key and shared in clean:
                self._remember(key)
                return text
        rules = _triggered_rules(text)
        if rules:
            return _combined(rules).sub(_replace, text)
        if not self._remembers or len(key) > self._longest:
            return text
        if self._digit_words:
            # Trigger words are found in lower case, and only ASCII letters lower-case to the ASCII letters of
            # these words: the ASCII lower case of the key shows them.
            lowered = key.lower().translate(self._word_table)
            if any(word in lowered for word in self._digit_words):
                return text
        self._remember(key)
        if shared is not key:
            self._remember(shared)
        return text

    def _remember(self, key: bytes) -> None:
        if len(self._clean) >= self._limit:
            self._clean.clear()
        self._clean.add(key)


_ALL_DIGITS_ALIKE = bytes.maketrans(b"0123456789", b"1111111111")


def mask_tree(value: Any) -> Any:
    """``value`` with every string inside (dict keys and values, lists, tuples) masked."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return {mask_tree(key): mask_tree(inner) for key, inner in value.items()}
    if isinstance(value, tuple):
        return tuple(mask_tree(inner) for inner in value)
    if isinstance(value, list):
        return [mask_tree(inner) for inner in value]
    return value


# user:password@ (or user@) after a scheme; the user info runs to the last "@" before the host.
_URL_USERINFO = re.compile(r"(?<=://)[^\s/?#]*@(?=[^\s@/?#]*(?:[/?#\s]|$))")


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@``: what a notice or a log line may show of a server address."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secrets(strip_url_credentials(url))
    if "@" not in parts.netloc:
        return mask_secrets(url)
    netloc = parts.netloc.rpartition("@")[2]
    return mask_secrets(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def strip_url_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed (error messages quote URLs)."""
    if "@" not in text or "://" not in text:
        return text
    return _URL_USERINFO.sub("", text)
