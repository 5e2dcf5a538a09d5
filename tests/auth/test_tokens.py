"""JWT encoding and checking, and the signing key's origin, length and file permissions."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import time
from pathlib import Path

import jwt
import pytest

from logchat.auth.tokens import (
    ACCESS,
    REFRESH,
    TokenClaims,
    TokenCodec,
    load_previous_keys,
    load_signing_key,
    new_token_id,
    secret_file,
)
from logchat.config import load_settings
from logchat.errors import ConfigError, TokenExpired, TokenInvalid

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def claims(token_type: str = ACCESS, *, issued_at: int | None = None, ttl: int = 900) -> TokenClaims:
    now = int(time.time()) if issued_at is None else issued_at
    return TokenClaims(
        token_type=token_type, user_id=7, username="jdoe", role="analyst", token_id=new_token_id(),
        family=new_token_id(), version=0, issued_at=now, expires_at=now + ttl,
    )


def b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip_keeps_every_claim() -> None:
    codec = TokenCodec(KEY)
    original = claims()
    token = codec.encode(original)
    assert codec.decode(token, expected_type=ACCESS) == original
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert {"jti", "sub", "role", "exp", "iat"} <= set(payload)
    assert payload["sub"] == "7"


def test_expired_token_is_refused_as_expired() -> None:
    codec = TokenCodec(KEY)
    token = codec.encode(claims(issued_at=int(time.time()) - 3600, ttl=60))
    with pytest.raises(TokenExpired, match="access token expired"):
        codec.decode(token, expected_type=ACCESS)
    # Logout still reads it.
    assert codec.decode(token, expected_type=ACCESS, allow_expired=True).username == "jdoe"


def test_token_signed_with_another_key_is_refused() -> None:
    token = TokenCodec(OTHER_KEY).encode(claims())
    with pytest.raises(TokenInvalid, match="invalid access token"):
        TokenCodec(KEY).decode(token, expected_type=ACCESS)
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(token, expected_type=ACCESS, allow_expired=True)


def test_alg_none_is_refused() -> None:
    payload = claims().to_payload()
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(unsigned, expected_type=ACCESS)


def test_another_hmac_algorithm_with_the_right_key_is_refused() -> None:
    key = b"k" * 64
    token = jwt.encode(claims().to_payload(), key, algorithm="HS512")
    with pytest.raises(TokenInvalid):
        TokenCodec(key).decode(token, expected_type=ACCESS)


def test_tampered_payload_is_refused() -> None:
    token = TokenCodec(KEY).encode(claims())
    header, _payload, signature = token.split(".")
    forged = claims().to_payload() | {"role": "admin"}
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(f"{header}.{b64(forged)}.{signature}", expected_type=ACCESS)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "eyJ.eyJ.", "x" * 5000])
def test_garbage_is_refused_as_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(garbage, expected_type=ACCESS)


def test_a_refresh_token_is_not_an_access_token_and_back() -> None:
    codec = TokenCodec(KEY)
    with pytest.raises(TokenInvalid, match="a refresh token cannot be used as an access token"):
        codec.decode(codec.encode(claims(REFRESH)), expected_type=ACCESS)
    with pytest.raises(TokenInvalid, match="an access token cannot be used as a refresh token"):
        codec.decode(codec.encode(claims(ACCESS)), expected_type=REFRESH)


@pytest.mark.parametrize("missing", ["jti", "sub", "role", "exp", "iat", "fam", "ver", "typ", "iss"])
def test_a_token_without_a_required_claim_is_refused(missing: str) -> None:
    payload = claims().to_payload()
    del payload[missing]
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(jwt.encode(payload, KEY, algorithm="HS256"), expected_type=ACCESS)


@pytest.mark.parametrize(("claim", "value"), [("sub", "root"), ("ver", "0"), ("role", 3), ("iss", "elsewhere")])
def test_a_token_with_a_malformed_claim_is_refused(claim: str, value: object) -> None:
    payload = claims().to_payload() | {claim: value}
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(jwt.encode(payload, KEY, algorithm="HS256"), expected_type=ACCESS)


def test_previous_keys_verify_but_never_sign() -> None:
    old = TokenCodec(OTHER_KEY).encode(claims())
    rotating = TokenCodec(KEY, (OTHER_KEY,))
    assert rotating.decode(old, expected_type=ACCESS).username == "jdoe"
    assert jwt.decode(rotating.encode(claims()), KEY, algorithms=["HS256"])["sub"] == "7"
    with pytest.raises(TokenInvalid):
        TokenCodec(KEY).decode(old, expected_type=ACCESS)
    # An expired token signed with a previous key is expired, not invalid.
    stale = TokenCodec(OTHER_KEY).encode(claims(issued_at=int(time.time()) - 3600, ttl=60))
    with pytest.raises(TokenExpired):
        rotating.decode(stale, expected_type=ACCESS)
    with pytest.raises(TokenInvalid):
        rotating.decode(TokenCodec(b"x" * 40).encode(claims()), expected_type=ACCESS)


def test_previous_secrets_come_from_the_environment_as_a_json_list(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGCHAT_AUTH__JWT_PREVIOUS_SECRETS", json.dumps(["a" * 40, "b" * 32]))
    settings = load_settings(data_dir=data_dir)
    assert load_previous_keys(settings) == (b"a" * 40, b"b" * 32)
    assert "a" * 40 not in repr(settings)
    monkeypatch.setenv("LOGCHAT_AUTH__JWT_PREVIOUS_SECRETS", json.dumps(["a" * 40, "short-secret"]))
    with pytest.raises(ConfigError, match="jwt_previous_secrets': entry 2 is too short") as info:
        load_previous_keys(load_settings(data_dir=data_dir))
    assert "short-secret" not in str(info.value)


def test_a_key_under_32_bytes_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        TokenCodec(b"x" * 31)


# --- the signing key ------------------------------------------------------------------------------


def test_key_is_generated_once_into_the_data_dir_with_mode_0600(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    first = load_signing_key(settings)
    path = secret_file(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_signing_key(load_settings(data_dir=data_dir)) == first
    assert [p.name for p in data_dir.iterdir()] == ["jwt-secret"]  # no temporary file left behind


def test_data_dir_is_created_when_missing(tmp_path: Path) -> None:
    key = load_signing_key(load_settings(data_dir=tmp_path / "new" / "dir"))
    assert len(key) >= 32


def test_concurrent_first_use_agrees_on_one_key(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    keys: list[bytes] = []
    barrier = threading.Barrier(6)

    def load() -> None:
        barrier.wait()
        keys.append(load_signing_key(settings))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 6 and len(set(keys)) == 1


def test_configured_secret_wins_over_the_file(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s" * 40
    monkeypatch.setenv("LOGCHAT_AUTH__JWT_SECRET", secret)
    assert load_signing_key(load_settings(data_dir=data_dir)) == secret.encode()
    assert not secret_file(data_dir).exists()


def test_a_short_configured_secret_is_refused_without_showing_it(data_dir: Path) -> None:
    secret = "hunter2-hunter2"
    settings = load_settings(data_dir=data_dir, auth={"jwt_secret": secret})
    with pytest.raises(ConfigError) as info:
        load_signing_key(settings)
    message = f"{info.value} {info.value.hint}"
    assert "auth.jwt_secret" in message and "15 bytes" in message
    assert secret not in message
    assert secret not in repr(settings)


def test_a_secret_file_readable_by_others_is_refused(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    load_signing_key(settings)
    os.chmod(secret_file(data_dir), 0o644)
    with pytest.raises(ConfigError, match=r"accessible by other users \(mode 0644\)") as info:
        load_signing_key(settings)
    assert info.value.hint == f"chmod 600 {secret_file(data_dir)}"


def test_a_truncated_secret_file_is_refused(data_dir: Path) -> None:
    path = secret_file(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short\n")
    os.close(fd)
    with pytest.raises(ConfigError, match="too short"):
        load_signing_key(load_settings(data_dir=data_dir))
