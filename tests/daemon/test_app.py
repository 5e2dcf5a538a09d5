"""The application as any client meets it: health, errors as JSON, headers, size limits, sign-in checks."""

from __future__ import annotations

import os
from typing import Any

from daemon_helpers import bearer


async def test_healthz_and_readyz(client: Any) -> None:
    alive = await client.get("/healthz")
    assert alive.status == 200 and await alive.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    replica = body.pop("replica")
    assert body == {"status": "ready", "checks": {"database": "ok"}}
    assert str(os.getpid()) in replica.split(":"), "the replica names its host and process"


async def test_every_response_carries_a_request_id_and_security_headers(client: Any) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert given.headers["X-Request-ID"] == "trace-42"
    made = await client.get("/healthz", headers={"X-Request-ID": "not a valid id\u2028"})
    assert made.headers["X-Request-ID"] != "not a valid id\u2028" and len(made.headers["X-Request-ID"]) == 32
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert name in made.headers
    assert "'unsafe-inline'" not in made.headers["Content-Security-Policy"]


async def test_unknown_routes_and_methods_are_json_errors(client: Any) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.post("/healthz")
    assert wrong.status == 405
    assert (await wrong.json())["error"]["code"] == "method_not_allowed"


async def test_a_bad_token_is_401_json(client: Any, tokens: dict[str, str]) -> None:
    response = await client.get("/api/v1/auth/me", headers=bearer(tokens["viewer"] + "x"))
    assert response.status == 401
    body = await response.json()
    assert body["error"]["code"] and body["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_openapi_document_describes_every_route(client: Any) -> None:
    from logchat.daemon.endpoints import ENDPOINTS

    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    described = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    served = {(resource.method, resource.resource.canonical) for resource in client.app.router.routes()
              if resource.resource is not None and not resource.resource.canonical.startswith("/static")
              and resource.method != "HEAD"}
    assert served == described == {(spec.method, spec.path) for spec in ENDPOINTS}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            access = operation["x-logchat-access"]
            if access != "public":
                assert "401" in operation["responses"], (method, path)


async def test_the_api_reference_page_and_its_files_are_served(client: Any) -> None:
    page = await client.get("/api/docs")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    html = await page.text()
    assert "<script>" not in html  # the CSP allows no inline script
    for asset in ("/static/api-docs.js", "/static/style.css"):
        assert asset in html
        served = await client.get(asset)
        assert served.status == 200, asset
    assert (await client.get("/static/")).status in (403, 404)


async def test_cors_is_off_unless_an_origin_is_configured(client: Any, services: Any) -> None:
    plain = await client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers
    preflight = await client.options("/healthz", headers={"Origin": "https://elsewhere.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    services.settings.serve.cors_origins = ["https://dashboard.example"]
    allowed = await client.options("/api/v1/openapi.json", headers={
        "Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET"})
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dashboard.example"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    read = await client.get("/healthz", headers={"Origin": "https://dashboard.example"})
    assert read.headers["Access-Control-Allow-Origin"] == "https://dashboard.example"
    other = await client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
