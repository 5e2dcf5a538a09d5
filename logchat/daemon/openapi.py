"""The OpenAPI 3.1 document, made from the endpoint table and the same pydantic models that validate
requests and responses, so the document cannot describe a route differently from how it behaves."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from logchat import __version__
from logchat.daemon.endpoints import PUBLIC, SIGNED_IN, TOKEN_HOLDER, Endpoint

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
        }
    },
}


# One Server-Sent Event: its name and its data, a JSON text (see docs/api.md, "Streaming").
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "enum": ["token", "notice", "answer", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}


def build_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for spec in endpoints:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "logchat", "version": __version__,
                 "description": "Ask questions about your logs; answers cite the actual lines."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _schema(model: type[BaseModel], schemas: dict[str, Any], *, mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model="Error")}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(spec: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": spec.handler.__name__,
        "summary": spec.summary,
        "tags": [spec.tag],
        "x-logchat-access": spec.access,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    if spec.query is not None:
        query_schema = spec.query.model_json_schema(mode="validation")
        required = set(query_schema.get("required", ()))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        body = _schema(spec.body, schemas, mode="validation")
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    success: dict[str, Any] = {"description": "OK"}
    if spec.status == 204:
        success = {"description": "No content"}
    elif spec.response is not None:
        success["content"] = {"application/json": {"schema": _schema(spec.response, schemas, mode="serialization")}}
    if spec.content_type is not None:
        success["content"] = {spec.content_type: {"schema": {"type": "string"}}}
    if spec.streams:
        success.setdefault("content", {})["text/event-stream"] = {"schema": SSE_EVENT}
    responses: dict[str, Any] = {str(spec.status): success}
    if spec.body is not None or spec.query is not None:
        responses["400"] = _error("Malformed request")
        responses["422"] = _error("A field is missing or wrong; `field` names it")
    if spec.access != PUBLIC:
        operation["security"] = [{"bearer": []}]
        responses["401"] = _error("No valid access token")
        if spec.access not in (SIGNED_IN, TOKEN_HOLDER):
            responses["403"] = _error(f"The caller's role lacks `{spec.access}`")
    operation["responses"] = responses
    return operation
