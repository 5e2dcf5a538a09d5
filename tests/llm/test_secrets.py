"""Secret masking: every kind of credential goes, ordinary log text stays byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logchat.redaction import MASK, mask_secrets, might_hold_secret

# (log text, the secret that must disappear, what must remain for the reader)
CASES = [
    ("connect https://bob:hunter2@db.local/x failed", "hunter2", "https://bob:***@db.local/x"),
    ("dsn=postgresql://app:s3cr%40t@10.0.0.1:5432/db", "s3cr%40t", "postgresql://app:***@10.0.0.1"),
    ("GET / Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl", "Authorization: Bearer ***"),
    ('headers={"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz", '"Authorization": "Basic ***"'),
    ("retry with bearer 0123456789abcdefXYZ", "0123456789abcdefXYZ", "bearer ***"),
    ("login password=hunter2 user=bob", "hunter2", "password=*** user=bob"),
    ('cfg {"password": "hunter two", "user": "bob"}', "hunter two", '"password": "***", "user": "bob"'),
    ("DB_PASSWORD: topsecret", "topsecret", "DB_PASSWORD: ***"),
    ("passwd:abc123 ok", "abc123", "passwd:*** ok"),
    ("mysql -u root pwd=xyz789", "xyz789", "pwd=***"),
    ("client secret=s3cr3tv4lue", "s3cr3tv4lue", "secret=***"),
    ("session token=tok_998877", "tok_998877", "token=***"),
    ("call api_key=k-112233 done", "k-112233", "api_key=***"),
    ("X-Api-Key: zz-44-55", "zz-44-55", "X-Api-Key: ***"),
    ("apikey=abcdef123", "abcdef123", "apikey=***"),
    ("access_key=AK-7-7-7", "AK-7-7-7", "access_key=***"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI", "aws_secret_access_key=***"),
    ("using key AKIAIOSFODNN7EXAMPLE for s3", "IOSFODNN7EXAMPLE", "AKIA*** for s3"),
    ("push with ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "abcdefghijklmnop", "ghp_*** ok"),
    ("slack xoxb-1234567890-abcdefghij ok", "1234567890-abcdefghij", "xoxb-*** ok"),
    ("notify https://hooks.slack.com/services/T000/B000/XXXXYYYY", "XXXXYYYY", "hooks.slack.com/services/***"),
    (
        "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl end",
        "c2lnbmF0dXJl",
        "auth eyJ*** end",
    ),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter",
        "MIIEowIBAAKCAQEA",
        "after",
    ),
    ("dump -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "b3BlbnNzaC1rZXk", "dump -----BEGIN"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), CASES)
def test_secret_is_masked_and_context_kept(text: str, secret: str, kept: str) -> None:
    masked = mask_secrets(text)
    assert secret not in masked
    assert kept in masked
    assert "***" in masked
    assert might_hold_secret(text)


@pytest.mark.parametrize(("text", "secret", "kept"), CASES)
def test_masking_is_idempotent(text: str, secret: str, kept: str) -> None:
    once = mask_secrets(text)
    assert mask_secrets(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "Failed password for invalid user admin from 187.141.143.180 port 38796 ssh2",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4",
        "bypass=1 passes: 3 tokens=5 password_hash=abc",
        "fetch http://mirror.local:8080/pool/a@b",
        "Bearer token expired",
        "",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert mask_secrets(text) == text


def test_real_logs_pass_through_almost_untouched(datasets: Path) -> None:
    changed: list[str] = []
    total = 0
    for log_file in sorted((datasets / "loghub").glob("*/*_2k.log")):
        for line in log_file.read_text(errors="replace").splitlines():
            total += 1
            if mask_secrets(line) != line:
                changed.append(line)
    assert total >= 30_000
    # OpenSSH logs say "password" hundreds of times and hold no secret.
    assert not any("sshd" in line for line in changed)
    assert len(changed) < 20


CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "secrets_corpus.jsonl"


def test_every_secret_of_the_corpus_is_masked() -> None:
    import json

    for record in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines()):
        masked = mask_secrets(record["line"])
        for secret in record["secrets"]:
            assert secret not in masked and secret[:8] not in masked, (record["kind"], masked)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login password=tr0ub4dor&3 ok", "&3"),
        ("login password=pa,ss;wo'rd\"x ok", "ss;wo"),
        ("charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWD"),
        ("maps key AIzaSyA1234567890abcdefghijklmnopqrstu", "SyA1234567890"),
        ("cookie sessionid=abc123def456ghi789", "abc123def456"),
        ("user entered 'correcthorsebattery' at the prompt", "correcthorse"),
        ("GET /x?token=abcdef123456&key=zyxw98765432", "zyxw98765432"),
        ("mongodb+srv://svc:p@ss@cluster0.x.net/db", "p@ss"),
    ],
)
def test_the_holes_found_are_closed(text: str, secret: str) -> None:
    assert secret not in mask_secrets(text)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@ollama.local:11434", "http://ollama.local:11434"),
        ("https://tok@host/path?x=1", "https://host/path?x=1"),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    from logchat.redaction import redact_url, strip_url_credentials

    assert redact_url(url) == shown
    assert strip_url_credentials(f"failed at {url}: refused") == f"failed at {shown}: refused"


def test_nothing_detect_secrets_finds_in_the_corpus_survives_masking() -> None:
    """detect-secrets' named plugins (its entropy plugins flag ordinary words such as 'accepted') as an oracle."""
    import json

    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    checked = 0
    with default_settings():
        for record in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines()):
            masked = mask_secrets(record["line"])
            for found in scan_line(record["line"]):
                value = found.secret_value or ""
                if "High Entropy" in found.type or len(value) < 8:
                    continue
                checked += 1
                assert value not in masked, (found.type, record["line"])
    assert checked >= 100


def test_masking_the_corpus_is_idempotent() -> None:
    import json

    for record in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines()):
        once = mask_secrets(record["line"])
        assert mask_secrets(once) == once


_VALUE_CHARS = "".join(c for c in map(chr, range(33, 127)))


@settings(max_examples=300, deadline=None)
@given(value=st.text(alphabet=_VALUE_CHARS, min_size=4, max_size=40))
def test_a_password_value_goes_whole_whatever_it_holds(value: str) -> None:
    lines = [f"login password={value} user=bob", f"DB_PASSWORD: {value}"]
    if not any(char in value for char in '&#"'):  # these end a query parameter's value
        lines.append(f"url: ?x=1&token={value} next")
    for line in lines:
        masked = mask_secrets(line)
        assert value not in masked or value in line.replace(value, "", 1), (line, masked)


@settings(max_examples=200, deadline=None)
@given(value=st.text(alphabet=_VALUE_CHARS.replace('"', ""), min_size=1, max_size=40))
def test_a_quoted_password_goes_whole(value: str) -> None:
    masked = mask_secrets(f'{{"user": "bob", "password": "{value}", "ok": true}}')
    assert f'"password": "{MASK}"' in masked


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_is_masked_without_error(text: str) -> None:
    assert isinstance(mask_secrets(text), str)


def _digit_key(text: str) -> bytes:
    from logchat.ingest.digit_keys import DIGIT_KEY

    return text.encode("utf-8", "surrogatepass").translate(DIGIT_KEY)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize(("limit", "longest"), [(100_000, 1024), (3, 40)])
def test_masking_by_digit_key_masks_as_mask_secrets_does(limit: int, longest: int, shared: bool) -> None:
    import json
    import random

    from logchat.redaction import KeyedSecretMask

    rng = random.Random(3)
    lines = [record["line"] for record in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines())]
    lines += [text for text, _, _ in CASES] + ["Failed password for root from 1.2.3.4 port 22 ssh2"]
    # The same lines again with other digits: lines of one key that held nothing are remembered, the others not;
    # with the shared key, zeros after a digit vary too.
    varied = ["".join(rng.choice("123456789") if char in "123456789" else char for char in line) for line in lines]
    zeros = ["".join(rng.choice("0123456789") if char.isdigit() and at and line[at - 1].isdigit() else char
                     for at, char in enumerate(line)) for line in lines]
    masker = KeyedSecretMask(_digit_key_table(), limit=limit, longest=longest,
                             shared_key=_shared_key() if shared else None)
    for text in lines + varied + zeros + lines + zeros:
        assert masker.mask(text, _digit_key(text)) == mask_secrets(text)


@pytest.mark.parametrize("shared", [False, True])
def test_a_trigger_word_with_a_digit_is_found_in_a_line_whose_key_held_nothing(shared: bool) -> None:
    from logchat.redaction import KeyedSecretMask

    masker = KeyedSecretMask(_digit_key_table(), shared_key=_shared_key() if shared else None)
    oauth = "auth with ya29.abcdefghijklmnopqrstuvwxyz0123"
    for harmless in ("auth with ya19.abcdefghijklmnopqrstuvwxyz0123", "auth with ya10.abcdefghijklmnopqrstuvwxyz0123"):
        assert masker.mask(harmless, _digit_key(harmless)) == harmless
    assert masker.mask(oauth, _digit_key(oauth)) == mask_secrets(oauth) != oauth


def test_lines_whose_zeros_inside_numbers_differ_are_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from logchat import redaction

    rng = random.Random(8)
    ports = [rng.choice(("10", "100", "1000", "20000", "40260", "50505", "22", "8080")) for _ in range(2000)]
    lines = [f"Accepted password for root from 10.0.{rng.randint(0, 99)}.1 port {port} ssh2" for port in ports]
    scanned: list[str] = []
    scan = redaction._triggered_rules
    monkeypatch.setattr(redaction, "_triggered_rules", lambda text: scanned.append(text) or scan(text))
    masker = redaction.KeyedSecretMask(_digit_key_table(), shared_key=_shared_key())
    for line in lines:
        assert masker.mask(line, _digit_key(line)) == line
    keys = {_digit_key(line) for line in lines}
    shared = {_shared_key()(key) for key in keys}
    assert len(shared) * 2 < len(keys)
    assert len(scanned) == len(shared)


def _shared_key() -> Callable[[bytes], bytes]:
    from logchat.ingest.digit_keys import zeros_inside_numbers_blind

    return zeros_inside_numbers_blind


def _digit_key_table() -> bytes:
    from logchat.ingest.digit_keys import DIGIT_KEY

    return DIGIT_KEY
