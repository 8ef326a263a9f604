"""Bodies of the ingestion endpoints (gateway, Segment, CRM, logs), as typed models for
/openapi.json.

The wire protocol of ``POST /v1/events`` is docs/ingestion-protocol.md (the SDK's
``refract_sdk.transport`` is its client); events themselves are contract instances, checked
one by one by the gateway against the registry, so the document declares them as objects and
leaves their fields to the contracts. Segment's shapes follow Segment's HTTP Tracking API.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- POST /v1/events ---------------------------------------------------------------------------


class GatewayErrorBody(_Open):
    """A refused request (docs/ingestion-protocol.md): the reason and what and where."""

    error: str = Field(description="e.g. unauthorized, malformed_batch, payload_too_large")
    message: str


class EventBatch(_Open):
    """A batch from an emitter. Each event names its contract version in `schema`."""

    sent_at: str | None = Field(
        default=None, description="UTC, YYYY-MM-DDTHH:MM:SS.mmmZ, stamped per attempt"
    )
    events: list[Any] = Field(
        description="Contract instances; each is accepted or rejected on its own"
    )


class EventVerdict(_Open):
    """The verdict on one event (`reason` and `message` when rejected)."""

    event_id: str | None
    status: str = Field(description="accepted or rejected")
    reason: str | None = None
    message: str | None = None


class EventResults(_Open):
    """Answer of a processed batch: one verdict per event, in order."""

    results: list[EventVerdict]


# -- CRM and logs ------------------------------------------------------------------------------


class ItemVerdict(EventVerdict):
    """The verdict on one item of a CRM or log request."""

    index: int
    line: int | None = Field(default=None, description="NDJSON line number (logs only)")


class ItemResults(_Open):
    results: list[ItemVerdict]


class LeadList(_Open):
    leads: list[dict[str, Any]]


class LeadRequest(RootModel[dict[str, Any] | list[dict[str, Any]] | LeadList]):
    """One lead record (HubSpot or Salesforce webhook), an array of them, or `{"leads": [...]}`."""


# -- Segment -----------------------------------------------------------------------------------


class SegmentMessage(_Open):
    """One Segment call (track, page, screen, identify); see docs/adapters.md for the mapping."""

    type: str | None = Field(default=None, description="track, page, screen or identify")
    userId: str | None = None
    anonymousId: str | None = None
    event: str | None = Field(default=None, description="track: the event name")
    name: str | None = Field(default=None, description="page/screen: the page name")
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: str | None = None
    messageId: str | None = None
    writeKey: str | None = Field(
        default=None, description="analytics.js: the write key when there is no Authorization"
    )


class SegmentBatch(_Open):
    """Segment's `/v1/batch`: messages of any call, with a shared context."""

    batch: list[SegmentMessage]
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class SegmentSuccess(_Open):
    success: Literal[True]


class SegmentError(_Open):
    """Segment's shape for a refused request."""

    success: Literal[False]
    code: str
    message: str


# -- operations --------------------------------------------------------------------------------


class Health(_Open):
    status: str


class Readiness(_Open):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    EventBatch,
    LeadRequest,
    SegmentMessage,
    SegmentBatch,
)
