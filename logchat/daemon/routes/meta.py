"""The API describing itself (the OpenAPI document and a page that renders it), and the web page."""

from __future__ import annotations

from typing import Any

from logchat.daemon.endpoints import ENDPOINTS, PUBLIC, Call, endpoint


@endpoint("GET", "/api/v1/openapi.json", access=PUBLIC, summary="The OpenAPI 3.1 document of this API.", tag="meta")
async def openapi_document(call: Call) -> Any:
    from logchat.daemon.openapi import build_document

    return build_document(ENDPOINTS)


@endpoint("GET", "/api/docs", access=PUBLIC, summary="The API reference, rendered from the OpenAPI document.",
          tag="meta")
async def api_docs(call: Call) -> Any:
    from aiohttp import web

    from logchat.daemon.static import page

    return web.Response(text=page("api-docs.html"), content_type="text/html")


@endpoint("GET", "/", access=PUBLIC, tag="meta",
          summary="The web page: sign in, ask, sessions, stats, anomalies and usage (docs/api.md).")
async def web_page(call: Call) -> Any:
    from aiohttp import web

    from logchat.daemon.static import page

    # The page itself is public; everything it shows comes from the API, behind a sign-in.
    return web.Response(text=page("index.html"), content_type="text/html")
