"""What the OpenAPI document says that FastAPI cannot derive: how API keys are sent and the error answers.

`deps.get_viewer` reads the key by hand (a malformed or contradictory header is 401, which FastAPI's security
classes would pass as anonymous), and `app.py` writes every error body itself: both are declared here, next
to each other, and `tests/e2e/test_api_contract.py` compares them with what the API really answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

# the two ways `deps.get_viewer` accepts a key; either one, never two different keys
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <API key>`."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "`X-API-Key: <API key>`."},
}
WITH_KEY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
# `{}`: no key is also accepted (the public view); a key that is sent must still be valid
KEY_OPTIONAL: list[dict[str, list[str]]] = [{}, *WITH_KEY]
NEEDS_KEY: dict[str, Any] = {"security": WITH_KEY}  # `openapi_extra` of the routes that refuse the public


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="Where: `query.limit`, `path.index`, `body.reason`.")
    reason: str


class ErrorBody(BaseModel):
    """Every error answer of `/v1` (`app.py`)."""

    model_config = ConfigDict(extra="forbid")
    error: str = Field(description=(
        "`bad_request` (400), `not_authenticated` (401), `forbidden` (403), `not_found` (404), "
        "`method_not_allowed` (405), `conflict` (409), `payload_too_large` (413), `unsupported_encoding` (415), "
        "`invalid_input` (422), `unavailable` (503), `error` or `integrity_failure` (500)."))
    detail: str = Field(description="What went wrong, for a person.")
    errors: list[FieldError] = Field(default=[], description=(
        "Only for `invalid_input` from request validation: each field and why."))


_WHY = {
    400: "The JSON body could not be read at all (e.g. bytes that are not UTF-8): `detail` says why.",
    401: "No key where the route needs one, or a key that is malformed, unknown or revoked (never treated as "
         "no key), or two different keys.",
    403: "The key is valid but may not do this.",
    404: "Unknown, or not visible to this key: the two answer alike.",
    409: "The current state or an earlier decision forbids it (e.g. decided already).",
    413: "The body is over the line or byte limit; nothing is stored.",
    415: "The body has a `Content-Encoding` other than `identity` (e.g. gzip): send it uncompressed; nothing is "
         "read or stored.",
    422: "A parameter or body field is invalid: `detail` says which (and `errors` each field, when the request "
         "did not validate).",
    503: "The node cannot reach its database (or message stream); try again later.",
}
_HEADERS = {401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these error statuses, each with the body the API sends."""
    return {s: {"model": ErrorBody, "description": _WHY[s], **({"headers": _HEADERS[s]} if s in _HEADERS else {})}
            for s in statuses}


def document(app: FastAPI) -> dict[str, Any]:
    """`app.openapi`: FastAPI's document, plus the key schemes; a `/v1` operation that does not say it needs a
    key (`NEEDS_KEY`) takes one optionally."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = FastAPI.openapi(app)  # built once and kept in `app.openapi_schema`: completed here in place
    spec.setdefault("components", {})["securitySchemes"] = SCHEMES
    body_errors = {str(status): _response(spec, status) for status in (400, 415)}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items() if path.startswith("/v1") else ():
            operation.setdefault("security", KEY_OPTIONAL)
            # `app.IdentityBodies` refuses a compressed body of any request but GET and HEAD; FastAPI's 400
            # comes only from reading a JSON body
            json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
            for status in ("400", "415") if json_body else ("415",) if method != "get" else ():
                operation["responses"].setdefault(status, body_errors[status])
    return spec


def _response(spec: dict[str, Any], status: int) -> dict[str, Any]:
    """A status of `errors` as it stands in the document (the `ErrorBody` schema is there already: every route
    documents 401)."""
    assert "ErrorBody" in spec["components"]["schemas"]
    return {"description": _WHY[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
