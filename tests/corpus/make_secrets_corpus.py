"""Write secrets_corpus.jsonl: realistic log lines of four formats, each with the exact secrets it holds.

Run from the repository root to regenerate (deterministic): python tests/corpus/make_secrets_corpus.py
Each record: {"kind", "format", "line", "secrets": [...]}; a secret is the part a masker must remove
(a conventional public prefix such as "sk_live_" or "AKIA" is not part of it).
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from pathlib import Path

rng = random.Random(7)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
PUNCT = "&,;'\"!%"
USERS = ["alice", "bob", "carol", "deploy", "svc-orders", "root", "admin", "mallory"]


def r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def password() -> str:
    """A password with the separators that used to cut masking short."""
    core = r(rng.randint(6, 10))
    return core[:3] + rng.choice(PUNCT) + core[3:] + rng.choice(PUNCT) + r(3)


def jwt() -> tuple[str, str]:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps({"sub": rng.choice(USERS), "n": r(12)}).encode()).rstrip(b"=").decode()
    token = f"{head}.{body}.{r(43, URLSAFE)}"
    return token, token[3:]


# kind -> function returning (message text, [secrets]); "{J}" marks messages meant for JSON fields.
def k_password_kv() -> tuple[str, list[str]]:
    s = password().replace('"', "'")
    return f"login attempt user={rng.choice(USERS)} password={s} result=denied", [s]


def k_password_quoted() -> tuple[str, list[str]]:
    s = r(8) + " " + r(5)
    return f'config loaded {{"db_user": "app", "db_password": "{s}", "pool": 5}}', [s]


def k_password_prose() -> tuple[str, list[str]]:
    s = rng.choice(["correcthorse", "letmein", "springtime", "dragonfly"]) + r(6)
    form = rng.choice([f"user {rng.choice(USERS)} entered '{s}' at the sudo prompt",
                       f"reset: new password was '{s}' for {rng.choice(USERS)}",
                       f'rejected login, password "{s}" is too short'])
    return form, [s]


def k_db_url() -> tuple[str, list[str]]:
    s = r(12) + rng.choice("@&,") + r(4)
    url = rng.choice([f"postgres://app:{s}@db01.internal:5432/orders", f"mysql://root:{s}@10.2.0.7:3306/shop",
                      f"mongodb+srv://svc:{s}@cluster0.ab12c.mongodb.net/prod?retryWrites=true",
                      f"redis://:{s}@cache01:6379/0"])
    return f"connection to {url} failed: timeout after 5000 ms", [s]


def k_http_url_credentials() -> tuple[str, list[str]]:
    s = r(14)
    return f"git fetch https://deploy:{s}@git.internal/acme/app.git exited 128", [s]


def k_basic_auth() -> tuple[str, list[str]]:
    b64 = base64.b64encode(f"{rng.choice(USERS)}:{r(12)}".encode()).decode()
    return f"upstream request headers Authorization: Basic {b64} accepted", [b64]


def k_bearer() -> tuple[str, list[str]]:
    s = r(40, URLSAFE)
    return f"proxy forwarded Authorization: Bearer {s} to billing", [s]


def k_jwt() -> tuple[str, list[str]]:
    token, secret = jwt()
    return f"session established for {rng.choice(USERS)} jwt {token} expires in 3600s", [secret]


def k_aws_access_key() -> tuple[str, list[str]]:
    s = r(16, string.ascii_uppercase + string.digits)
    return f"s3 upload using access key AKIA{s} to bucket backups", [s]


def k_aws_secret() -> tuple[str, list[str]]:
    s = r(40, ALNUM + "/+")
    return f"boto config aws_secret_access_key={s} region=eu-west-1", [s]


def k_github() -> tuple[str, list[str]]:
    s = r(36)
    return f"ci clone with token ghp_{s} for acme/app", [s]


def k_gitlab() -> tuple[str, list[str]]:
    s = r(20, URLSAFE)
    return f"runner registered using glpat-{s} on gitlab.internal", [s]


def k_slack_token() -> tuple[str, list[str]]:
    s = f"{r(10, string.digits)}-{r(12, string.digits)}-{r(24)}"
    return f"alerts bot connected with xoxb-{s}", [s]


def k_slack_webhook() -> tuple[str, list[str]]:
    s = f"T{r(8, string.ascii_uppercase)}/B{r(8, string.ascii_uppercase)}/{r(24)}"
    return f"notify POST https://hooks.slack.com/services/{s} status=200", [s]


def k_stripe() -> tuple[str, list[str]]:
    s = r(24)
    prefix = rng.choice(["sk_live_", "rk_live_", "pk_live_"])
    return f"payment client initialised key={prefix}{s} mode=live", [s]


def k_google_key() -> tuple[str, list[str]]:
    s = r(35, URLSAFE)
    return f"geocode request https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=AIza{s}", [s]


def k_google_oauth() -> tuple[str, list[str]]:
    s = r(60, URLSAFE)
    return f"gcs client refreshed credentials, access token ya29.{s} valid 3599s", [s]


def k_sendgrid() -> tuple[str, list[str]]:
    s = f"{r(22, URLSAFE)}.{r(43, URLSAFE)}"
    return f"mailer using SG.{s} for transactional mail", [s]


def k_twilio() -> tuple[str, list[str]]:
    sid, token = r(32, HEX), r(32, HEX)
    return f"sms gateway account AC{sid} twilio_auth_token={token} sent 3 messages", [sid, token]


def k_npm() -> tuple[str, list[str]]:
    s = r(36)
    return f"npm publish //registry.npmjs.org/:_authToken=npm_{s} ok", [s]


def k_pypi() -> tuple[str, list[str]]:
    s = "AgEIcHlwaS5vcmc" + r(70, URLSAFE)
    return f"twine upload with password pypi-{s} to pypi.org", [s]


def k_session_cookie() -> tuple[str, list[str]]:
    s = r(32, HEX)
    name = rng.choice(["sessionid", "PHPSESSID", "JSESSIONID", "connect.sid", "session_id"])
    return f"request from 10.1.4.{rng.randint(2, 250)} {name}={s} path=/account", [s]


def k_cookie_header() -> tuple[str, list[str]]:
    a, b = r(32), r(24)
    form = rng.choice([f"Cookie: theme=dark; sessionid={a}; csrftoken={b}",
                       f"Set-Cookie: auth_session={a}; remember={b}; Path=/; HttpOnly; Secure"])
    return f"response header {form}", [a, b]


def k_query_token() -> tuple[str, list[str]]:
    a, b = r(28), r(20)
    return f"GET /api/v1/export?format=csv&token={a}&key={b}&page=2", [a, b]


def k_private_key() -> tuple[str, list[str]]:
    body = "MIIEow" + r(60, B64)
    return (f"loaded deploy key -----BEGIN RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY----- "
            f"for host web0{rng.randint(1, 9)}"), [body]


def k_openssh_key() -> tuple[str, list[str]]:
    body = "b3BlbnNzaC1rZXktdjEAAAAA" + r(40, B64)
    return f"key file -----BEGIN OPENSSH PRIVATE KEY----- {body} -----END OPENSSH PRIVATE KEY-----", [body]


def k_azure() -> tuple[str, list[str]]:
    key = r(86, B64) + "=="
    return (f"blob client DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={key};"
            "EndpointSuffix=core.windows.net"), [key]


def k_azure_sas() -> tuple[str, list[str]]:
    s = r(43, B64) + "%3D"
    return f"PUT https://acme.blob.core.windows.net/backups/db.tar?sv=2022-11-02&se=2026-03-04&sig={s} 201", [s]


def k_openai() -> tuple[str, list[str]]:
    s = r(48, URLSAFE)
    return f"llm client configured with sk-proj-{s}", [s]


def k_heroku() -> tuple[str, list[str]]:
    s = str(uuid.UUID(int=rng.getrandbits(128)))
    return f"release env HEROKU_API_KEY={s} app=acme-web", [s]


def k_generic_key() -> tuple[str, list[str]]:
    s = r(20) + r(4, string.digits) + r(16)
    form = rng.choice([f"webhook signing key: {s} loaded", f"license key {s} activated",
                       f"app secret={s} rotated"])
    return form, [s]


def k_api_key_header() -> tuple[str, list[str]]:
    s = r(32, HEX)
    return f"inbound X-Api-Key: {s} client=partner-7", [s]


def k_mailchimp() -> tuple[str, list[str]]:
    s = r(32, HEX)
    return f"newsletter sync using {s}-us6 list=weekly", [s]


def k_client_secret() -> tuple[str, list[str]]:
    s = r(34, URLSAFE + "~.")
    return f"oauth exchange client_id=web client_secret={s} grant=authorization_code", [s]


KINDS: dict[str, Callable[[], tuple[str, list[str]]]] = {
    name[2:]: function for name, function in globals().items() if name.startswith("k_")
}


def syslog(i: int, message: str) -> str:
    proc = rng.choice(["app", "api", "worker", "gateway"])
    return f"Mar  3 10:{i // 60 % 60:02d}:{i % 60:02d} web0{i % 3 + 1} {proc}[{1000 + i}]: {message}"


def applog(i: int, message: str) -> str:
    level = rng.choice(["INFO", "WARN", "ERROR"])
    return f"2026-03-03 11:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} {level} [main] com.acme.Service: {message}"


def jsonline(i: int, message: str) -> str:
    record = {"ts": f"2026-03-03T12:{i // 60 % 60:02d}:{i % 60:02d}Z", "level": rng.choice(["info", "error"]),
              "service": "api", "msg": message}
    return json.dumps(record)


def access(i: int, message: str) -> str:
    # A request line that is a URL carries its secrets in the query; anything else is logged the way
    # nginx logs an extra variable such as $http_cookie or $http_authorization: a last quoted field.
    if message.startswith("GET "):
        path, extra = message.split()[1], "-"
    else:
        path, extra = "/login", message.replace('"', "\\x22")
    return (f'10.0.{i % 7}.{i % 250 + 1} - - [03/Mar/2026:13:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
            f'"GET {path} HTTP/1.1" 200 {100 + i} "-" "curl/8.5.0" "{extra}"')


FORMATS = {"syslog": syslog, "app": applog, "jsonl": jsonline, "access": access}
ORDINARY = [
    "Failed password for invalid user admin from 203.0.113.{n} port 4{n}22 ssh2",
    "Accepted publickey for deploy from 198.51.100.{n} port 5{n}11 ssh2",
    "request completed in {n} ms status=200",
    "password change policy evaluated for {n} accounts",
]


def main() -> None:
    records = []
    i = 0
    for round_ in range(7):
        for kind, make in KINDS.items():
            fmt = list(FORMATS)[(i + round_) % len(FORMATS)]
            message, secrets = make()
            if fmt == "access" and "\\n" in message:
                fmt = "syslog"  # a private key does not travel in a URL
            line = FORMATS[fmt](i, message)
            for secret in secrets:
                assert secret in line or json.dumps(secret)[1:-1] in line, (kind, secret, line)
            records.append({"kind": kind, "format": fmt, "line": line, "secrets": secrets})
            i += 1
    for n in range(40):
        fmt = ["syslog", "app", "jsonl"][n % 3]
        records.append({"kind": "none", "format": fmt, "line": FORMATS[fmt](i, ORDINARY[n % 4].format(n=n)),
                        "secrets": []})
        i += 1
    out = Path(__file__).with_name("secrets_corpus.jsonl")
    out.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    print(f"{len(records)} lines, {len(KINDS)} kinds -> {out}")


if __name__ == "__main__":
    main()
