"""Route declarations of the ingestion endpoints: bodies, answers and credentials.

Each family keeps its own error shape: the gateway and the CRM/log adapters answer
docs/ingestion-protocol.md's `{"error", "message"}`, the Segment routes Segment's
`{"success": false, "code", "message"}`. The statuses are those the body reader
(registry_service.gateway.body), the key check and the stream commit can answer.
"""

from __future__ import annotations

from typing import Any

from registry_service.openapi.ingestion_models import (
    EventBatch,
    EventResults,
    GatewayErrorBody,
    Health,
    ItemResults,
    LeadRequest,
    Readiness,
    SegmentBatch,
    SegmentError,
    SegmentMessage,
    SegmentSuccess,
)
from registry_service.openapi.spec import (
    SEGMENT_BASIC,
    WRITE_KEY,
    error_responses,
    operation,
    request_body,
    security,
)

_RESULTS_EXAMPLE = {
    "results": [
        {"event_id": "0f8e2d6c-4b1a-4e9f-8d7c-6b5a4f3e2d1c", "status": "accepted"},
        {
            "event_id": "6b5a4f3e-2d1c-4e9f-8d7c-0f8e2d6c4b1a",
            "status": "rejected",
            "reason": "schema_violation",
            "message": "/page/url: 'x' does not match '^https?://[^\\\\s]+$'",
        },
    ]
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "string"},
    }
}

_BODY_ERRORS = {
    400: "malformed_json / malformed_batch: the body is not JSON or not the expected shape",
    401: "unauthorized: missing, unknown or revoked write key",
    413: "payload_too_large / batch_too_large: over a size or count limit",
    415: "unsupported_content_type / unsupported_encoding",
    503: "the stream did not accept the records: retry (Retry-After)",
}
_SEGMENT_ERRORS = {
    400: "malformed_json / malformed_batch / payload_too_large (Segment answers 400)",
    401: "unauthorized: missing, unknown or revoked write key",
    415: "unsupported_encoding: Content-Encoding other than gzip",
    503: "the stream did not accept the records: retry (Retry-After)",
}


def _with_retry_after(
    responses: dict[int | str, dict[str, Any]],
) -> dict[int | str, dict[str, Any]]:
    responses[503]["headers"] = _RETRY_AFTER
    return responses


def events() -> dict[str, Any]:
    """`POST /v1/events`: the SDK wire protocol, write key as Bearer."""
    return {
        "response_model": EventResults,
        "responses": {
            200: {"content": {"application/json": {"example": _RESULTS_EXAMPLE}}},
            **_with_retry_after(error_responses(GatewayErrorBody, _BODY_ERRORS)),
        },
        "openapi_extra": operation(
            body=request_body(
                EventBatch,
                description="JSON, optionally gzip (Content-Encoding: gzip); "
                "see docs/ingestion-protocol.md",
            ),
            auth=security(WRITE_KEY),
        ),
    }


def segment(call: str | None) -> dict[str, Any]:
    """A Segment route: one call's message, or `/v1/batch`'s batch."""
    return {
        "response_model": SegmentSuccess,
        "responses": _with_retry_after(error_responses(SegmentError, _SEGMENT_ERRORS)),
        "openapi_extra": operation(
            body=request_body(
                SegmentBatch if call is None else SegmentMessage,
                description="JSON, optionally gzip. Without an Authorization header the "
                "write key is the body's `writeKey` (analytics.js).",
            ),
            auth=security(SEGMENT_BASIC, WRITE_KEY),
        ),
    }


def crm() -> dict[str, Any]:
    """`POST /v1/crm/leads`."""
    return {
        "response_model": ItemResults,
        "responses": _with_retry_after(error_responses(GatewayErrorBody, _BODY_ERRORS)),
        "openapi_extra": operation(
            body=request_body(LeadRequest), auth=security(SEGMENT_BASIC, WRITE_KEY)
        ),
    }


def access_logs() -> dict[str, Any]:
    """`POST /v1/logs`: NDJSON, one access-log object per line."""
    ndjson = {"type": "string", "description": "One JSON object per line"}
    return {
        "response_model": ItemResults,
        "responses": _with_retry_after(error_responses(GatewayErrorBody, _BODY_ERRORS)),
        "openapi_extra": operation(
            body=request_body(ndjson, ("application/x-ndjson", "text/plain")),
            auth=security(SEGMENT_BASIC, WRITE_KEY),
        ),
    }


def healthz() -> dict[str, Any]:
    return {"response_model": Health}


def readyz() -> dict[str, Any]:
    return {
        "response_model": Readiness,
        "responses": {503: {"model": Readiness, "description": "Not ready: see `checks`"}},
    }


def metrics() -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    }
